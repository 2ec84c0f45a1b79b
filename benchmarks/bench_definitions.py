"""Load and validate a GitLab-sized definition tree: 3,000 events and 3,000 metric files.

Baselines, measured in the same run on the same files, with no checks at all: PyYAML's
``yaml.safe_load`` (what a naive loader does) and ``yaml.load(..., CSafeLoader)`` (libyaml's
parser, the fastest way PyYAML offers). Target: the whole tree, parsed and fully checked
against the schemas and the cross-file rules, in under 1 s.

A second case validates a tree of the same size where half the metrics name an unknown event
(a misspelt one), so that every problem and its "did you mean" hint must be found: also under
1 s, against the same libyaml baseline on its own files.

    python benchmarks/bench_definitions.py [--events 3000] [--metrics 3000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from otel_internal_events.definitions import definition_files, load_definitions
from otel_internal_events.errors import DefinitionsInvalidError

EVENT = """---
description: Event number {i}, fired when a user does thing {i}
internal_events: true
action: bench_event_{i}
identifiers:
- project
- namespace
- user
additional_properties:
  label:
    description: Where it happened
  property:
    description: How it happened
  value:
    description: How many
  duration_s:
    description: How long it took
    type: number
product_group: bench
product_categories:
- bench
milestone: '1.{m}'
introduced_by_url: https://forge.example.com/forge/-/merge_requests/{i}
tiers:
- free
- premium
- ultimate
"""

METRIC = """---
key_path: {prefix}.{name}
description: Metric number {i}
product_group: bench
product_categories:
- bench
performance_indicator_type: []
value_type: number
status: active
milestone: '1.{m}'
introduced_by_url: https://forge.example.com/forge/-/merge_requests/{i}
time_frame:
{frames}
data_source: internal_events
data_category: optional
tiers:
- free
- premium
- ultimate
events:
- name: bench_event_{i}
{rule}
"""


def write_tree(root: Path, events: int, metrics: int, *, unknown_every: int = 0) -> None:
    """``unknown_every=2``: every second metric names a misspelt, unknown event."""
    (root / "events").mkdir(parents=True)
    (root / "metrics" / "counts_all").mkdir(parents=True)
    for i in range(events):
        (root / "events" / f"bench_event_{i}.yml").write_text(EVENT.format(i=i, m=i % 20))
    for i in range(metrics):
        unique = i % 2 == 0
        prefix, name = (
            ("redis_hll_counters", f"count_distinct_user_id_from_bench_event_{i}")
            if unique
            else ("counts", f"count_total_bench_event_{i}")
        )
        frames = "- 7d\n- 28d" if unique else "- 7d\n- 28d\n- all"
        rule = "  unique: user.id" if unique else "  filter:\n    label: web"
        text = METRIC.format(prefix=prefix, name=name, i=i % events, m=i % 20, frames=frames, rule=rule)
        if unknown_every and i % unknown_every == 1:
            text = text.replace(f"- name: bench_event_{i % events}\n", f"- name: bench_evnet_{i % events}\n")
        (root / "metrics" / "counts_all" / f"{name}.yml").write_text(text)


def timed(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--metrics", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "definitions"
        write_tree(root, args.events, args.metrics)
        files = [p for group in definition_files(root) for p in group]

        def naive_load() -> None:
            for path in files:
                yaml.safe_load(path.read_bytes())

        def libyaml_load() -> None:
            for path in files:
                yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)

        registry = load_definitions(root)
        ours = timed(lambda: load_definitions(root), args.repeat)
        naive = timed(naive_load, args.repeat)
        libyaml = timed(libyaml_load, args.repeat)
    count = len(files)
    print(
        f"definition files: {count} ({args.events} events, {args.metrics} metric files, "
        f"{len(registry.metrics)} metrics after time-frame expansion)"
    )
    print(f"load + validate (ours):         {ours:.3f} s  ({ours / count * 1e6:.0f} us/file)")
    print(f"yaml.safe_load, no checks:      {naive:.3f} s  ({naive / count * 1e6:.0f} us/file)")
    print(f"CSafeLoader, no checks:         {libyaml:.3f} s  ({libyaml / count * 1e6:.0f} us/file)")
    print(f"ratio ours/safe_load: {ours / naive:.2f}x   ours/CSafeLoader: {ours / libyaml:.2f}x")
    print(f"target whole tree < 1 s: {'met' if ours < 1.0 else 'NOT met'} ({ours:.3f} s, median of {args.repeat})")
    unknown_case(args)


def unknown_case(args: argparse.Namespace) -> None:
    """Validate a tree where half the metrics name an unknown event: every problem, with hints."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "definitions"
        write_tree(root, args.events, args.metrics, unknown_every=2)
        files = [p for group in definition_files(root) for p in group]
        found: list[int] = []

        def validate() -> None:
            try:
                load_definitions(root)
            except DefinitionsInvalidError as exc:
                found.append(len(exc.errors))
                hints = sum("did you mean" in e.message for e in exc.errors)
                found.append(hints)

        def libyaml_load() -> None:
            for path in files:
                yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)

        ours = timed(validate, args.repeat)
        libyaml = timed(libyaml_load, args.repeat)
    print(
        f"\nhalf the metrics name unknown events: {len(files)} files, {found[0]} problems reported "
        f"({found[1]} with a 'did you mean' hint)"
    )
    print(f"validate (ours):                {ours:.3f} s")
    print(f"CSafeLoader, no checks:         {libyaml:.3f} s")
    print(f"ratio ours/CSafeLoader: {ours / libyaml:.2f}x")
    print(f"target < 1 s: {'met' if ours < 1.0 else 'NOT met'} ({ours:.3f} s, median of {args.repeat})")


if __name__ == "__main__":
    main()
