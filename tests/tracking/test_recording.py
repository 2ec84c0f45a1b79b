"""What a tracked event becomes on OpenTelemetry: a log record, a span event, a count."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import otel_internal_events as oie
from otel_internal_events.conventions import (
    EVENT_NAME,
    NAMESPACE_ID,
    PROJECT_ID,
    PROPERTY_PREFIX,
    TRACKED_COUNTER,
    USER_ID,
)

EXPECTED_ATTRIBUTES = {
    EVENT_NAME: "create_pipeline",
    USER_ID: 3,
    PROJECT_ID: 7,
    NAMESPACE_ID: 9,
    PROPERTY_PREFIX + "label": "web",
    PROPERTY_PREFIX + "value": 12,
}


def _track_pipeline() -> None:
    oie.track_internal_event(
        "create_pipeline", user=3, project=7, namespace=9, additional_properties={"label": "web", "value": 12}
    )


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_one_log_record_per_event_with_event_name_and_attributes(configure: Any, capture_logs: Any, clock: Any) -> None:
    logs = capture_logs(configure(exporters=("none",)))
    _track_pipeline()
    assert oie.flush()
    (record,) = logs.get_finished_logs()
    assert record.log_record.event_name == "create_pipeline"
    assert dict(record.log_record.attributes) == EXPECTED_ATTRIBUTES
    assert record.log_record.timestamp == clock.now_ns
    assert record.log_record.severity_number == SeverityNumber.INFO


def test_each_call_gives_its_own_log_record(configure: Any, capture_logs: Any) -> None:
    logs = capture_logs(configure(exporters=("none",)))
    for label in ("zip", "tar"):
        oie.track_internal_event("download_repository_archive", additional_properties={"label": label})
    assert oie.flush()
    assert [r.log_record.attributes[PROPERTY_PREFIX + "label"] for r in logs.get_finished_logs()] == [
        "zip",
        "tar",
    ]


def test_a_span_event_is_added_to_the_current_recording_span(configure: Any, spans: Any, clock: Any) -> None:
    provider, exporter = spans
    configure(exporters=("none",))
    with provider.get_tracer("test").start_as_current_span("request"):
        _track_pipeline()
    (span,) = exporter.get_finished_spans()
    (event,) = span.events
    assert event.name == "create_pipeline"
    assert dict(event.attributes) == EXPECTED_ATTRIBUTES
    assert event.timestamp == clock.now_ns


def test_tracked_counter_counts_per_event(configure: Any, points: Any) -> None:
    configure(exporters=("none",))
    for _ in range(3):
        _track_pipeline()
    oie.track_internal_event("download_repository_archive")
    assert points(TRACKED_COUNTER) == {
        (("event", "create_pipeline"),): 3,
        (("event", "download_repository_archive"),): 1,
    }


def test_rejected_calls_are_not_counted_as_tracked(configure: Any, points: Any) -> None:
    configure(strict=False, exporters=("none",))
    oie.track_internal_event("no_such_event")
    oie.track_internal_event("download_repository_archive")
    assert points(TRACKED_COUNTER) == {(("event", "download_repository_archive"),): 1}


def test_an_event_inside_an_unsampled_span_still_reaches_redis(
    configure: Any, redis_client: Any, key_prefix: str
) -> None:
    configure()
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("request") as span:
        assert not span.is_recording()
        oie.track_internal_event("download_repository_archive")
    assert oie.flush()
    assert exporter.get_finished_spans() == ()
    assert redis_client.get(f"{key_prefix}{{event_counters}}_download_repository_archive") == b"1"


def test_an_event_outside_any_span_reaches_redis(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    oie.track_internal_event("download_repository_archive")
    assert oie.flush()
    assert redis_client.get(f"{key_prefix}{{event_counters}}_download_repository_archive") == b"1"


def test_the_tracked_counter_keeps_counting_across_configurations(configure: Any, metric_reader: Any) -> None:
    from otel_internal_events.conventions import TRACKED_COUNTER

    def tracked() -> dict[str, int]:
        data = metric_reader.get_metrics_data()
        return {
            point.attributes["event"]: point.value
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == TRACKED_COUNTER
            for point in metric.data.data_points
        }

    configure()
    oie.track_internal_event("create_pipeline", user=1, project=2, namespace=3)
    assert tracked() == {"create_pipeline": 1}
    configure()  # a new pipeline on the same meter provider
    for _ in range(5):
        oie.track_internal_event("create_pipeline", user=1, project=2, namespace=3)
    assert tracked() == {"create_pipeline": 6}
