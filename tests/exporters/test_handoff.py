"""The direct logger: SDK log records around the tracker's checked attributes, handed to every
processor of the runtime's provider (with the OTLP exporter, see tests/service/test_one_path.py)."""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.sdk._logs import ReadWriteLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider

import otel_internal_events as oie
from otel_internal_events.conventions import EVENT_NAME, INSTRUMENTATION_SCOPE, PROPERTY_PREFIX
from otel_internal_events.exporters import CheckedLogRecord

EVENT = "create_merge_request"


class Emitted(SimpleLogRecordProcessor):
    """Keeps each record as the processor receives it (SimpleLogRecordProcessor exports a copy)."""

    def __init__(self) -> None:
        self.exporter = InMemoryLogRecordExporter()
        super().__init__(self.exporter)
        self.records: list[ReadWriteLogRecord] = []

    def on_emit(self, log_data: ReadWriteLogRecord) -> None:
        self.records.append(log_data)
        super().on_emit(log_data)


def capture(runtime: oie.Runtime) -> Emitted:
    processor = Emitted()
    runtime.logger_provider.add_log_record_processor(processor)
    return processor


def test_a_record_is_an_sdk_record_with_the_checked_attributes_and_the_current_span(configure: Any) -> None:
    runtime = configure(exporters=("none",))
    emitted = capture(runtime)
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("request") as span:
        oie.track_internal_event(EVENT, user=5, project=7, namespace=70, additional_properties={"label": "web"})
    (record,) = emitted.records

    assert isinstance(record, ReadWriteLogRecord) and isinstance(record, CheckedLogRecord)
    log = record.log_record
    assert type(log.attributes) is dict  # the checked attributes, not wrapped again
    assert log.attributes[EVENT_NAME] == EVENT
    assert log.attributes[PROPERTY_PREFIX + "label"] == "web"
    assert log.event_name == EVENT
    assert log.timestamp is not None and log.observed_timestamp is not None
    assert (log.trace_id, log.span_id) == (span.get_span_context().trace_id, span.get_span_context().span_id)
    assert record.instrumentation_scope is not None and record.instrumentation_scope.name == INSTRUMENTATION_SCOPE
    assert record.resource is runtime.logger_provider.resource
    assert record.dropped_attributes == 0
    (exported,) = emitted.exporter.get_finished_logs()  # an SDK exporter takes it as its own
    assert dict(exported.log_record.attributes) == log.attributes


def test_every_processor_gets_each_record_once_in_the_order_added(configure: Any) -> None:
    runtime = configure(exporters=("none",))
    seen: list[tuple[str, Any]] = []

    class Recording(SimpleLogRecordProcessor):
        def __init__(self, name: str) -> None:
            super().__init__(InMemoryLogRecordExporter())
            self.name = name

        def on_emit(self, log_data: ReadWriteLogRecord) -> None:
            seen.append((self.name, log_data))

    runtime.logger_provider.add_log_record_processor(Recording("first"))
    oie.track_internal_event(EVENT, user=1, project=2)
    runtime.logger_provider.add_log_record_processor(Recording("second"))
    oie.track_internal_event(EVENT, user=1, project=2)

    assert [name for name, _ in seen] == ["first", "first", "second"]
    assert seen[1][1] is seen[2][1]  # one record for every processor


def test_a_processor_added_while_another_thread_tracks_misses_nothing_after(configure: Any) -> None:
    runtime = configure(exporters=("none",))
    stop = threading.Event()

    def track() -> None:
        while not stop.is_set():
            oie.track_internal_event(EVENT, user=1, project=2)

    thread = threading.Thread(target=track)
    thread.start()
    try:
        emitted = capture(runtime)
        oie.track_internal_event(EVENT, user=99, project=2)
    finally:
        stop.set()
        thread.join()

    users = [record.log_record.attributes["internal_events.user.id"] for record in emitted.records]
    assert 99 in users
