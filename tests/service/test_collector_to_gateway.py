"""The whole pipeline with a real Collector: the application writes JSON lines (the jsonl
exporter), otelcol-contrib reads them with the generated filelog config and forwards OTLP/HTTP
to the gateway, and the gateway's counters equal the application's own."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

import otel_internal_events as oie

from .conftest import RunningGateway, filelog_collector, redis_values


class Project:
    def __init__(self, pid: int) -> None:
        self.id = pid
        self.namespace_id = 1000 + pid % 3


class MergeService(oie.InternalEventsTracking):
    def merge(self, user: int, project: Project, value: int, strategy: str) -> None:
        self.track_internal_event(
            "merge_merge_request",
            user=user,
            project=project,
            additional_properties={"value": value, "merge_strategy": strategy, "label": "web"},
        )


def track_events(count: int) -> None:
    service = MergeService()
    for i in range(count):
        if i % 2:
            service.merge(i % 11, Project(i % 4), i, "squash" if i % 3 else "merge_commit")
        else:
            oie.track_internal_event(
                "create_pipeline",
                user=i % 13,
                project=Project(i % 5),
                additional_properties={"label": "push" if i % 4 else "web", "property": "repository"},
                feature_enabled_by_namespace_ids=[1000, 1001],
            )
    oie.track_internal_event(
        "create_pipeline", user=1, project=9, additional_properties={"label": "api"}, send_snowplow_event=False
    )


@pytest.mark.parametrize("encoding", ["proto", "json"])
def test_events_written_as_json_lines_reach_the_gateway_through_the_collector(
    gateway: RunningGateway,
    otelcol: Path,
    configure: Callable[..., Any],
    redis_client: redis.Redis,
    key_prefix: str,
    tmp_path: Path,
    encoding: str,
) -> None:
    gateway.clear()
    lines = tmp_path / "events.jsonl"
    runtime = configure(exporters=("redis", "jsonl"), jsonl_path=str(lines))
    track_events(200)
    assert runtime.flush()
    expected = redis_values(redis_client, key_prefix)
    assert expected["{event_counters}_create_pipeline"] == 101

    with filelog_collector(otelcol, tmp_path, gateway.url, encoding) as (collector, log_file):
        deadline = time.monotonic() + 60
        while gateway.total("create_pipeline") < 101 and collector.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)

    assert gateway.keys() == expected, log_file.read_text("utf-8", "replace")[-3000:]
