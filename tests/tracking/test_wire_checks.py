"""Wire attributes checked again (the gateway): the fast path gives what the full check gives, or defers to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from opentelemetry.metrics import NoOpMeterProvider

from otel_internal_events.conventions import (
    CATEGORY,
    EVENT_NAME,
    FEATURE_ENABLED_BY_NAMESPACE_IDS,
    NAMESPACE_ID,
    PROJECT_ID,
    PROPERTY_PREFIX,
    SEND_SNOWPLOW,
    USER_ID,
)
from otel_internal_events.definitions import load_definitions
from otel_internal_events.errors import TrackingError
from otel_internal_events.tracking import EventChecker
from otel_internal_events.wire import TrackedEvent, call_arguments, decode

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
P = PROPERTY_PREFIX
MERGE = {EVENT_NAME: "merge_merge_request", USER_ID: 5, PROJECT_ID: 6, NAMESPACE_ID: 7}


@pytest.fixture(scope="module")
def checker() -> EventChecker:
    return EventChecker(load_definitions(DEFINITIONS), NoOpMeterProvider().get_meter("t"), strict=False)


def full_check(checker: EventChecker, event: str, attributes: dict[str, Any]) -> tuple[TrackedEvent | None, list[str]]:
    problems: list[TrackingError] = []
    a = call_arguments(attributes)
    checked = checker.check(
        problems,
        event,
        a.user,
        a.namespace,
        a.project,
        a.additional_properties,
        a.feature_enabled_by_namespace_ids,
        a.category,
        a.send_snowplow_event,
    )
    return (None if checked is None else decode(event, checked, 1)), [p.reason for p in problems]


CLEAN = {
    "ids and properties": {**MERGE, P + "value": 12, P + "merge_strategy": "squash", P + "label": "web"},
    "whole doubles as ids": {**MERGE, USER_ID: 5.0, PROJECT_ID: 6.0},
    "ids as text": {**MERGE, USER_ID: "u-5"},
    "every wire field": {
        **MERGE,
        CATEGORY: "MergeService",
        FEATURE_ENABLED_BY_NAMESPACE_IDS: [7, 8],
        SEND_SNOWPLOW: False,
        P + "value": 1.5,
    },
    "attributes that are not ours": {**MERGE, "http.route": "/x", "service.name": "app"},
    "no event attribute": {USER_ID: 5, PROJECT_ID: 6, NAMESPACE_ID: 7},
}
DEFERRED = {
    "an undeclared property": {**MERGE, P + "secret": "x"},
    "a mistyped property": {**MERGE, P + "merge_strategy": 7},
    "a bool as a number": {**MERGE, P + "value": True},
    "a bool as an id": {**MERGE, USER_ID: True},
    "a fraction as an id": {**MERGE, USER_ID: 5.5},
    "a list as an id": {**MERGE, PROJECT_ID: [6]},
    "a category that is not text": {**MERGE, CATEGORY: 3},
    "feature ids with a double": {**MERGE, FEATURE_ENABLED_BY_NAMESPACE_IDS: [7.0, 8]},
    "feature ids that are not a list": {**MERGE, FEATURE_ENABLED_BY_NAMESPACE_IDS: 7},
    "send_snowplow as text": {**MERGE, SEND_SNOWPLOW: "false"},
    "text that is not valid Unicode": {**MERGE, P + "merge_strategy": "squash\ud800"},
    "a number that is not finite": {**MERGE, P + "value": float("nan")},
    "an id outside 64 bits": {**MERGE, USER_ID: 1 << 64},
    "a category that is not valid Unicode": {**MERGE, CATEGORY: "Svc\ud800"},
    "text that is not ASCII": {**MERGE, P + "merge_strategy": "squash-\u00e9t\u00e9", USER_ID: "\u00fcser"},
}


@pytest.mark.parametrize("attributes", CLEAN.values(), ids=CLEAN.keys())
def test_a_clean_event_takes_the_fast_path_to_the_same_event(checker: EventChecker, attributes: dict[str, Any]) -> None:
    expected, problems = full_check(checker, "merge_merge_request", attributes)

    assert problems == []
    assert checker.event_from_wire("merge_merge_request", attributes, 1) == expected


@pytest.mark.parametrize("attributes", DEFERRED.values(), ids=DEFERRED.keys())
def test_anything_else_is_left_to_the_full_check(checker: EventChecker, attributes: dict[str, Any]) -> None:
    assert checker.event_from_wire("merge_merge_request", attributes, 1) is None


def test_the_full_check_finds_a_problem_or_changes_or_keeps_each_deferred_event(checker: EventChecker) -> None:
    changed = {"feature ids with a double"}  # a whole double among the feature ids: converted, no problem
    fine = {"text that is not ASCII"}  # checked there (does it encode?), and kept
    for name, attributes in DEFERRED.items():
        event, problems = full_check(checker, "merge_merge_request", attributes)
        assert bool(problems) is (name not in changed | fine), name
        if name in fine:
            assert event is not None and event.user_id == "\u00fcser"
    assert full_check(checker, "merge_merge_request", DEFERRED["feature ids with a double"])[0] == decode(
        "merge_merge_request", {**MERGE, FEATURE_ENABLED_BY_NAMESPACE_IDS: [7, 8]}, 1
    )


def test_unknown_events_are_left_to_the_full_check(checker: EventChecker) -> None:
    assert checker.event_from_wire("no_such_event", {EVENT_NAME: "no_such_event"}, 1) is None
    assert checker.event_from_wire(5, {}, 1) is None  # type: ignore[arg-type]


def test_an_event_without_an_identifier_a_metric_counts_uniquely_is_left_to_the_full_check(
    checker: EventChecker,
) -> None:
    attributes = {EVENT_NAME: "create_merge_request", USER_ID: 5}  # counted by unique project too

    assert checker.event_from_wire("create_merge_request", attributes, 1) is None
    assert full_check(checker, "create_merge_request", attributes)[1] == ["missing_identifier"]
