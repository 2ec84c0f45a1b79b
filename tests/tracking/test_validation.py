"""Validation of tracking calls: strict mode raises typed errors, production mode never does."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.conventions import PROPERTY_PREFIX, REJECTED_COUNTER
from otel_internal_events.errors import (
    InvalidPropertyError,
    InvalidPropertyTypeError,
    InvalidPropertyValueError,
    MissingIdentifierError,
    UnknownEventError,
)
from otel_internal_events.sinks import BATCH_MARKER_TAG

_ANY_ID = "expected an id (int or str) or an object with an id"

# (event, call arguments, error type, field, message after "event '<event>': ")
BAD_CALLS: list[tuple[str, dict[str, Any], type[Exception], str, str]] = [
    ("no_such_event", {}, UnknownEventError, "", "unknown event"),
    (
        "create_pipelin",
        {},
        UnknownEventError,
        "",
        "unknown event; did you mean 'create_pipeline'?",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"foo": 1}},
        InvalidPropertyError,
        "additional_properties.foo",
        "property is not declared by the event (declared: label, property, value)",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"label": 1}},
        InvalidPropertyTypeError,
        "additional_properties.label",
        "expected a string, got int 1",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"property": 1.5}},
        InvalidPropertyTypeError,
        "additional_properties.property",
        "expected a string, got float 1.5",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"value": "3"}},
        InvalidPropertyTypeError,
        "additional_properties.value",
        "expected a number, got str '3'",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"value": True}},
        InvalidPropertyTypeError,
        "additional_properties.value",
        "expected a number, got bool True",
    ),
    (
        "merge_merge_request",
        {"additional_properties": {"merge_strategy": 3}},
        InvalidPropertyTypeError,
        "additional_properties.merge_strategy",
        "expected a string, got int 3",
    ),
    (
        "merge_merge_request",
        {"additional_properties": {"commit_count": "3"}},
        InvalidPropertyTypeError,
        "additional_properties.commit_count",
        "expected a number, got str '3'",
    ),
    (
        "merge_merge_request",
        {"additional_properties": {"merge_strategy": ["squash"]}},
        InvalidPropertyTypeError,
        "additional_properties.merge_strategy",
        "expected a string, got list ['squash']",
    ),
    (
        "connect_editor_extension",
        {"user": 1.5},
        InvalidPropertyTypeError,
        "user",
        f"{_ANY_ID}, got float 1.5",
    ),
    (
        "connect_editor_extension",
        {"user": {"id": 1}},
        InvalidPropertyTypeError,
        "user",
        f"{_ANY_ID}, got dict {{'id': 1}}",
    ),
    (
        "connect_editor_extension",
        {"user": SimpleNamespace(name="x")},
        InvalidPropertyTypeError,
        "user",
        f"{_ANY_ID}, got SimpleNamespace namespace(name='x')",
    ),
    (
        "connect_editor_extension",
        {},
        MissingIdentifierError,
        "user",
        "a metric counts this event by unique user.id, but no user was given",
    ),
    (
        "create_pipeline",
        {},
        MissingIdentifierError,
        "project",
        "a metric counts this event by unique project.id, but no project was given",
    ),
    (
        "register_runner",
        {"user": 1},
        MissingIdentifierError,
        "namespace",
        "a metric counts this event by unique namespace.id, but no namespace was given",
    ),
    (
        # only the runner_type=group metric counts run_ci_job by project
        "run_ci_job",
        {"user": 1, "namespace": 2, "additional_properties": {"runner_type": "group"}},
        MissingIdentifierError,
        "project",
        "a metric counts this event by unique project.id, but no project was given",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"label": "web\ud800"}},
        InvalidPropertyValueError,
        "additional_properties.label",
        "text that is not valid Unicode (a lone surrogate): 'web\\ud800'",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"value": float("nan")}},
        InvalidPropertyValueError,
        "additional_properties.value",
        "a number that is not finite: nan",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"value": float("-inf")}},
        InvalidPropertyValueError,
        "additional_properties.value",
        "a number that is not finite: -inf",
    ),
    (
        "create_pipeline",
        {"project": 1, "additional_properties": {"value": 1 << 63}},
        InvalidPropertyValueError,
        "additional_properties.value",
        f"an integer outside 64 bits: {1 << 63}",
    ),
    (
        "connect_editor_extension",
        {"user": -(1 << 64)},
        InvalidPropertyValueError,
        "user",
        f"an integer outside 64 bits: {-(1 << 64)}",
    ),
    (
        "connect_editor_extension",
        {"user": SimpleNamespace(id="u\udfff")},
        InvalidPropertyValueError,
        "user",
        "text that is not valid Unicode (a lone surrogate): 'u\\udfff'",
    ),
    (
        "download_repository_archive",
        {"category": "Svc\ud800"},
        InvalidPropertyValueError,
        "category",
        "text that is not valid Unicode (a lone surrogate): 'Svc\\ud800'",
    ),
    (
        "download_repository_archive",
        {"additional_properties": ["label"]},
        InvalidPropertyTypeError,
        "additional_properties",
        "expected a mapping, got list",
    ),
    (
        "download_repository_archive",
        {"feature_enabled_by_namespace_ids": 5},
        InvalidPropertyTypeError,
        "feature_enabled_by_namespace_ids",
        "expected ints, got 5",
    ),
]
IDS = [f"{event}-{error.__name__}-{field or 'event'}-{i}" for i, (event, _, error, field, _m) in enumerate(BAD_CALLS)]


def _keys(redis_client: Any, prefix: str) -> list[str]:
    return sorted(k.decode() for k in redis_client.scan_iter(match=f"{prefix}*") if BATCH_MARKER_TAG.encode() not in k)


@pytest.mark.parametrize(("event", "kwargs", "error", "field", "message"), BAD_CALLS, ids=IDS)
def test_strict_mode_raises_the_typed_error_naming_event_and_field(
    configure: Any, event: str, kwargs: dict[str, Any], error: type[Exception], field: str, message: str
) -> None:
    configure()
    with pytest.raises(error) as raised:
        oie.track_internal_event(event, **kwargs)
    assert type(raised.value) is error
    assert raised.value.event == event
    assert raised.value.field == field
    where = f"{field}: " if field else ""
    assert str(raised.value) == f"event '{event}': {where}{message}"


@pytest.mark.parametrize(("event", "kwargs", "error", "field", "message"), BAD_CALLS, ids=IDS)
def test_strict_mode_writes_nothing_to_redis_after_a_raise(
    configure: Any,
    redis_client: Any,
    key_prefix: str,
    event: str,
    kwargs: dict[str, Any],
    error: type[Exception],
    field: str,
    message: str,
) -> None:
    configure()
    with pytest.raises(error):
        oie.track_internal_event(event, **kwargs)
    assert oie.flush()
    assert _keys(redis_client, key_prefix) == []


def test_strict_mode_records_a_valid_call(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    oie.track_internal_event("download_repository_archive", additional_properties={"label": "zip"})
    assert oie.flush()
    assert redis_client.get(f"{key_prefix}{{event_counters}}_download_repository_archive") == b"1"


@pytest.mark.parametrize(("event", "kwargs", "error", "field", "message"), BAD_CALLS, ids=IDS)
def test_production_mode_never_raises(
    configure: Any, event: str, kwargs: dict[str, Any], error: type[Exception], field: str, message: str
) -> None:
    configure(strict=False)
    assert oie.track_internal_event(event, **kwargs) is None


def test_production_mode_records_nothing_for_an_unknown_event(
    configure: Any, capture_logs: Any, redis_client: Any, key_prefix: str
) -> None:
    logs = capture_logs(configure(strict=False))
    oie.track_internal_event("no_such_event", user=1)
    assert oie.flush()
    assert logs.get_finished_logs() == ()
    assert _keys(redis_client, key_prefix) == []


def test_production_mode_drops_an_undeclared_property_and_counts_the_event(
    configure: Any, capture_logs: Any, redis_client: Any, key_prefix: str
) -> None:
    logs = capture_logs(configure(strict=False))
    oie.track_internal_event("download_repository_archive", additional_properties={"label": "zip", "secret": "x"})
    assert oie.flush()
    (record,) = logs.get_finished_logs()
    assert PROPERTY_PREFIX + "secret" not in record.log_record.attributes
    assert record.log_record.attributes[PROPERTY_PREFIX + "label"] == "zip"
    assert redis_client.get(f"{key_prefix}{{event_counters}}_download_repository_archive") == b"1"


def test_production_mode_drops_a_mistyped_property_and_counts_the_event(
    configure: Any, capture_logs: Any, redis_client: Any, key_prefix: str
) -> None:
    logs = capture_logs(configure(strict=False))
    oie.track_internal_event("merge_merge_request", additional_properties={"merge_strategy": 3, "value": 4})
    assert oie.flush()
    (record,) = logs.get_finished_logs()
    assert PROPERTY_PREFIX + "merge_strategy" not in record.log_record.attributes
    assert redis_client.get(f"{key_prefix}{{event_counters}}_merge_merge_request") == b"1"
    assert redis_client.get(f"{key_prefix}{{event_sums}}_merge_merge_request-operator:sum(value)") == b"4"


def test_production_mode_missing_identifier_keeps_the_event_and_skips_the_unique_rule(
    configure: Any, redis_client: Any, key_prefix: str
) -> None:
    configure(strict=False)
    oie.track_internal_event("connect_editor_extension")
    assert oie.flush()
    assert _keys(redis_client, key_prefix) == [
        f"{key_prefix}{{event_counters}}_connect_editor_extension",
        f"{key_prefix}{{event_counters}}_connect_editor_extension-2026-48",
    ]


def test_production_mode_counts_rejections_by_event_and_reason(configure: Any, points: Any) -> None:
    configure(strict=False)
    for _ in range(2):
        oie.track_internal_event("no_such_event")
    for _ in range(3):
        oie.track_internal_event("create_pipeline", project=1, additional_properties={"foo": 1})
    oie.track_internal_event("create_pipeline", project=1, additional_properties={"value": True})
    oie.track_internal_event("create_pipeline")
    assert points(REJECTED_COUNTER) == {
        (("event", "no_such_event"), ("reason", "unknown_event")): 2,
        (("event", "create_pipeline"), ("reason", "undeclared_property")): 3,
        (("event", "create_pipeline"), ("reason", "invalid_type")): 1,
        (("event", "create_pipeline"), ("reason", "missing_identifier")): 1,
    }


def test_production_mode_logs_each_event_and_reason_once(configure: Any, caplog: pytest.LogCaptureFixture) -> None:
    configure(strict=False)
    with caplog.at_level(logging.WARNING, logger="otel_internal_events"):
        for _ in range(5):
            oie.track_internal_event("no_such_event")
            oie.track_internal_event("create_pipeline", project=1, additional_properties={"foo": 1})
            oie.track_internal_event("create_pipeline", project=1, additional_properties={"bar": 1})
    prefix = "internal event rejected (logged once per event and reason): "
    assert [r.getMessage() for r in caplog.records if r.name == "otel_internal_events"] == [
        prefix + "event 'no_such_event': unknown event",
        prefix + "event 'create_pipeline': additional_properties.foo: "
        "property is not declared by the event (declared: label, property, value)",
    ]


def test_a_filtered_unique_metric_needs_its_identifier_only_for_calls_it_counts(
    configure: Any, redis_client: Any, key_prefix: str
) -> None:
    configure()
    oie.track_internal_event("run_ci_job", user=1, namespace=2, additional_properties={"runner_type": "instance"})
    assert oie.flush()
    assert int(redis_client.get(f"{key_prefix}{{event_counters}}_run_ci_job")) == 1


def test_a_value_that_cannot_be_stored_is_dropped_and_counted_in_production(
    configure: Any, redis_client: Any, key_prefix: str, points: Any
) -> None:
    configure(strict=False)
    oie.track_internal_event("create_pipeline", project=1, additional_properties={"label": "a\ud800", "value": 2})
    oie.track_internal_event("create_pipeline", project=1, additional_properties={"value": float("nan")})
    oie.track_internal_event("create_pipeline", project=2, additional_properties={"label": "web", "value": 3})
    assert oie.flush()

    assert redis_client.get(f"{key_prefix}{{event_counters}}_create_pipeline") == b"3"  # every event kept
    assert points(REJECTED_COUNTER) == {(("event", "create_pipeline"), ("reason", "invalid_value")): 2}
    sums = [k for k in _keys(redis_client, key_prefix) if k.startswith(f"{key_prefix}{{event_sums}}")]
    assert sums and all(float(redis_client.get(k)) == 5 for k in sums)  # 2 + 3: the NaN left out
