"""``otel-internal-events report`` and ``demo`` as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

import otel_internal_events as oie
from otel_internal_events.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_report_prints_service_ping_json_as_of_a_day(
    configure: Any, clock: Any, redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure()
    clock.set(dt.datetime(2026, 11, 18, 10, tzinfo=dt.UTC))  # week 2026-47
    for user in (1, 2, 3):
        oie.track_internal_event("create_pipeline", user=user, project=5, namespace=9)
    oie.flush()
    oie.shutdown()
    monkeypatch.setenv("OTEL_INTERNAL_EVENTS_REDIS_URL", redis_url)
    monkeypatch.setenv("OTEL_INTERNAL_EVENTS_KEY_PREFIX", key_prefix)

    result = CliRunner().invoke(main, ["report", str(ROOT / "definitions"), "--format", "json", "--at", "2026-11-23"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["as_of"] == "2026-11-23"
    assert report["counts"]["count_total_create_pipeline_weekly"] == 3
    assert report["counts"]["count_total_create_pipeline"] == 3
    assert report["redis_hll_counters"]["count_distinct_project_id_from_create_pipeline_weekly"] == 1
    # as of the week itself, the week is not complete yet: 7d reads the week before
    earlier = CliRunner().invoke(main, ["report", str(ROOT / "definitions"), "--format", "json", "--at", "2026-11-20"])
    assert json.loads(earlier.output)["counts"]["count_total_create_pipeline_weekly"] == 0


def test_demo_command_prints_the_report_and_removes_its_keys(redis_url: str) -> None:
    result = CliRunner().invoke(main, ["demo", "--events", "3000", "--redis-url", redis_url, "--format", "json"])

    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["counts"]["count_total_run_ci_job"] > 0
    client = redis.Redis.from_url(redis_url)
    assert list(client.scan_iter(match="demo-*")) == []


def test_report_without_a_redis_url_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_INTERNAL_EVENTS_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)

    result = CliRunner().invoke(main, ["report", str(ROOT / "definitions")])

    assert result.exit_code == 2
    assert "set OTEL_INTERNAL_EVENTS_REDIS_URL" in result.output
