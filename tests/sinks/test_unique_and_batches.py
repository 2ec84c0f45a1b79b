"""Unique values stable across processes, and batches grouped per key."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.sinks import RedisCounterSink, unique_member
from otel_internal_events.wire import TrackedEvent

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"

CHILD = textwrap.dedent(
    """
    import sys
    import otel_internal_events as oie

    url, prefix, definitions, now = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    oie.configure(
        definitions=(definitions,), redis_url=url, key_prefix=prefix, strict=True, clock=lambda: now
    )
    oie.track_internal_event("connect_editor_extension", user=42)
    oie.track_internal_event("create_pipeline", project=7, additional_properties={"label": "web"})
    oie.shutdown()
    """
)


@pytest.mark.parametrize(
    ("value", "member"),
    [(42, "42"), ("abc", "abc"), (3.0, "3"), (2.5, "2.5")],
    ids=["int", "str", "integral-float", "float"],
)
def test_unique_member_is_a_stable_string(value: object, member: str) -> None:
    assert unique_member(value) == member


def test_the_same_user_and_label_from_another_process_count_once(
    configure: Any, redis_client: Any, redis_url: str, key_prefix: str, clock: Any
) -> None:
    configure()
    oie.track_internal_event("connect_editor_extension", user=SimpleNamespace(id=42))
    oie.track_internal_event("create_pipeline", project=7, additional_properties={"label": "web"})
    assert oie.flush()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    env["PYTHONHASHSEED"] = "12345"  # a hash seed of its own, as another worker process would have
    args = [sys.executable, "-c", CHILD, redis_url, key_prefix, str(DEFINITIONS), str(clock.now_ns)]
    subprocess.run(args, env=env, check=True, timeout=60)
    assert redis_client.get(f"{key_prefix}{{event_counters}}_connect_editor_extension") == b"2"
    assert redis_client.pfcount(f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-48") == 1
    assert redis_client.pfcount(f"{key_prefix}{{hll_counters}}_create_pipeline-label-2026-48") == 1
    assert redis_client.pfcount(f"{key_prefix}{{hll_counters}}_create_pipeline-project-2026-48") == 1


def test_a_batch_of_one_key_plans_one_total(configure: Any, redis_client: Any, key_prefix: str, clock: Any) -> None:
    runtime = configure(exporters=("none",))
    sink = RedisCounterSink(redis_client, runtime.registry, key_prefix)
    plan = sink.plan([TrackedEvent("download_repository_archive", clock.now_ns)] * 25)
    assert dict(plan.totals) == {
        f"{key_prefix}{{event_counters}}_download_repository_archive": 25,
        f"{key_prefix}{{event_counters}}_download_repository_archive-2026-48": 25,
    }
    assert plan.weekly == {f"{key_prefix}{{event_counters}}_download_repository_archive-2026-48"}


def test_a_batch_plans_one_member_set_per_unique_key(
    configure: Any, redis_client: Any, key_prefix: str, clock: Any
) -> None:
    runtime = configure(exporters=("none",))
    sink = RedisCounterSink(redis_client, runtime.registry, key_prefix)
    events = [TrackedEvent("connect_editor_extension", clock.now_ns, user_id=u) for u in (1, 2, 3, 2, 1)]
    plan = sink.plan(events)
    assert dict(plan.unique) == {f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-48": {"1", "2", "3"}}


def test_a_batch_written_in_one_go_gives_the_same_counts(
    configure: Any, redis_client: Any, key_prefix: str, clock: Any
) -> None:
    runtime = configure(exporters=("none",))
    sink = RedisCounterSink(redis_client, runtime.registry, key_prefix)
    sink.write([TrackedEvent("connect_editor_extension", clock.now_ns, user_id=u) for u in (1, 2, 3, 2)])
    assert redis_client.get(f"{key_prefix}{{event_counters}}_connect_editor_extension-2026-48") == b"4"
    assert redis_client.pfcount(f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-48") == 3
