"""The jsonl exporter: one JSON line per event, its wire attributes and its time."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.conventions import EVENT_NAME, NAMESPACE_ID, PROJECT_ID, PROPERTY_PREFIX, USER_ID
from otel_internal_events.exporters import json_line


def test_each_event_is_one_line_of_its_attributes_and_its_time(configure: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    runtime = configure(exporters=("jsonl",), jsonl_path=str(path))
    oie.track_internal_event(
        "create_merge_request", user=5, project=7, namespace=9, additional_properties={"label": "web"}
    )
    oie.track_internal_event("run_ci_job", user="u-1", project=7, namespace=9)
    assert runtime.flush()

    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert first == {
        EVENT_NAME: "create_merge_request",
        USER_ID: 5,
        PROJECT_ID: 7,
        NAMESPACE_ID: 9,
        PROPERTY_PREFIX + "label": "web",
        "time": "2026-11-25T12:00:00.000000000Z",
    }
    assert second[USER_ID] == "u-1"


def test_the_time_keeps_nanoseconds() -> None:
    line = json_line({EVENT_NAME: "x"}, 1_795_608_000_123_456_789)

    assert json.loads(line) == {EVENT_NAME: "x", "time": "2026-11-25T12:00:00.123456789Z"}


def test_standard_output_is_the_default(configure: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> None:
    runtime = configure(exporters=("jsonl",))
    oie.track_internal_event("run_ci_job", user=1, project=2, namespace=3)
    assert runtime.flush()

    assert json.loads(capsys.readouterr().out)[EVENT_NAME] == "run_ci_job"
