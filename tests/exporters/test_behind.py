"""A caller gives the GIL up once per 256 records queued while the export thread is more than two
batches behind (so that a tight tracking loop does not starve it and grow the queue), and never
while the exports fail (then the export thread only waits to retry)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics import MeterProvider

from otel_internal_events.exporters import AnalyticsLogRecordProcessor, ExportLosses

BATCH = 4


class HeldExporter(LogRecordExporter):
    """Holds each export until released; answers ``result``."""

    def __init__(self, result: LogRecordExportResult) -> None:
        self.result = result
        self.entered = threading.Event()
        self.release = threading.Event()

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        self.entered.set()
        self.release.wait(10)
        return self.result

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self.release.set()


@pytest.fixture
def yields(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The ``time.sleep`` calls made from now on (sleeps of 0 are not slept)."""
    calls: list[float] = []
    real = time.sleep

    def recording(seconds: float) -> None:
        calls.append(seconds)
        if seconds:
            real(seconds)

    monkeypatch.setattr(time, "sleep", recording)
    return calls


@pytest.fixture
def held() -> Iterator[Callable[[LogRecordExportResult], tuple[AnalyticsLogRecordProcessor, HeldExporter]]]:
    """``held(result)``: a processor (batches of four) over an exporter that holds each export."""
    provider = MeterProvider()
    made: list[tuple[AnalyticsLogRecordProcessor, HeldExporter]] = []

    def make(result: LogRecordExportResult) -> tuple[AnalyticsLogRecordProcessor, HeldExporter]:
        exporter = HeldExporter(result)
        losses = ExportLosses(provider.get_meter("test"))
        made.append((AnalyticsLogRecordProcessor(exporter, losses, name="held", max_export_batch_size=BATCH), exporter))
        return made[-1]

    yield make
    for processor, exporter in made:
        exporter.release.set()
        processor.shutdown(1000)
    provider.shutdown()


def test_a_caller_yields_once_per_256_records_queued_beyond_two_batches(held: Any, yields: list[float]) -> None:
    processor, exporter = held(LogRecordExportResult.SUCCESS)
    processor.enqueue_unit([object()] * BATCH)
    assert exporter.entered.wait(10)  # the export thread holds one batch; the queue is empty

    for _ in range(2 * BATCH):  # up to two batches queued: no yield
        processor.enqueue_unit([object()])
    for _ in range(255):
        processor.enqueue_unit([object()])
    assert yields == []
    processor.enqueue_unit([object()])  # the 256th record beyond two batches
    assert yields == [0]
    processor.enqueue_unit([object()] * 512)  # a unit counts its records
    assert yields == [0, 0]

    assert processor.queued == 2 * BATCH + 256 + 512  # queued all the same: nothing waits, nothing dropped


def test_no_yield_while_the_exports_fail(held: Any, yields: list[float]) -> None:
    processor, exporter = held(LogRecordExportResult.FAILURE)
    processor.enqueue_unit([object()] * BATCH)
    assert exporter.entered.wait(10)
    exporter.release.set()  # the export fails: the export thread backs off and retries
    deadline = time.monotonic() + 10
    while processor.failing_since is None and time.monotonic() < deadline:
        exporter.entered.wait(0.01)
    assert processor.failing_since is not None

    for _ in range(3):
        processor.enqueue_unit([object()] * 512)  # far beyond two batches

    assert 0 not in yields
