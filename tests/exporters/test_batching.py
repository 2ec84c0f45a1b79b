"""``with_batched_redis_writes``: records held until the outermost block exits, then one export."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

import otel_internal_events as oie
from otel_internal_events.exporters import AnalyticsLogRecordProcessor, ExportLosses, RedisCounterExporter
from otel_internal_events.sinks import RedisCounterSink

EVENT = "download_repository_archive"


class CountingExporter(LogRecordExporter):
    """Passes batches on, remembering the size of each export call."""

    def __init__(self, inner: LogRecordExporter) -> None:
        self.inner = inner
        self.calls: list[int] = []

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        self.calls.append(len(batch))
        return self.inner.export(batch)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self.inner.shutdown()


@pytest.fixture
def counting(configure: Any, redis_client: Any, key_prefix: str) -> CountingExporter:
    """A pipeline whose only processor exports through a :class:`CountingExporter`, batches of 2."""
    runtime = configure(exporters=("none",))
    sink = RedisCounterSink(redis_client, runtime.registry, key_prefix)
    exporter = CountingExporter(RedisCounterExporter(sink, runtime.losses))
    processor = AnalyticsLogRecordProcessor(
        exporter, runtime.losses, name="counting", max_export_batch_size=2, schedule_delay_millis=20
    )
    runtime.processors["counting"] = processor  # flushed and shut down with the runtime
    runtime.logger_provider.add_log_record_processor(processor)
    return exporter


@pytest.fixture
def total_key(key_prefix: str) -> str:
    return f"{key_prefix}{{event_counters}}_{EVENT}"


# A flush returns once everything queued before it is exported: a key still absent after it
# shows that the records were held back, not that they were late.


def test_records_are_held_until_the_block_exits(configure: Any, redis_client: Any, total_key: str) -> None:
    configure()
    with oie.with_batched_redis_writes():
        for _ in range(3):
            oie.track_internal_event(EVENT)
        assert oie.flush()
        assert redis_client.get(total_key) is None
    assert oie.flush()
    assert redis_client.get(total_key) == b"3"


def test_nested_blocks_deliver_at_the_outermost_exit(configure: Any, redis_client: Any, total_key: str) -> None:
    configure()
    with oie.with_batched_redis_writes():
        oie.track_internal_event(EVENT)
        with oie.with_batched_redis_writes():
            oie.track_internal_event(EVENT)
        assert oie.flush()
        assert redis_client.get(total_key) is None
        oie.track_internal_event(EVENT)
    assert oie.flush()
    assert redis_client.get(total_key) == b"3"


def test_nested_blocks_go_out_in_one_export(counting: CountingExporter) -> None:
    with oie.with_batched_redis_writes():
        oie.track_internal_event(EVENT)
        with oie.with_batched_redis_writes():
            oie.track_internal_event(EVENT)
    assert oie.flush()
    assert counting.calls == [2]


def test_an_exception_inside_the_block_still_delivers_the_events(
    configure: Any, redis_client: Any, total_key: str
) -> None:
    configure()
    with pytest.raises(RuntimeError, match="boom"), oie.with_batched_redis_writes():
        oie.track_internal_event(EVENT)
        oie.track_internal_event(EVENT)
        raise RuntimeError("boom")
    assert oie.flush()
    assert redis_client.get(total_key) == b"2"


def test_a_long_block_goes_out_in_units_of_the_batch_size(
    counting: CountingExporter, redis_client: Any, total_key: str
) -> None:
    with oie.with_batched_redis_writes():
        for _ in range(5):
            oie.track_internal_event(EVENT)
    assert oie.flush()
    assert counting.calls == [2, 2, 1]
    assert redis_client.get(total_key) == b"5"


def test_two_units_are_not_merged_beyond_the_batch_size(counting: CountingExporter) -> None:
    for size in (2, 1):
        with oie.with_batched_redis_writes():
            for _ in range(size):
                oie.track_internal_event(EVENT)
    assert oie.flush()
    assert counting.calls == [2, 1]


def test_an_event_tracked_by_a_task_after_the_block_is_not_lost(
    configure: Any, redis_client: Any, total_key: str
) -> None:
    import asyncio

    configure()

    async def main() -> None:
        release = asyncio.Event()

        async def late() -> None:
            await release.wait()
            oie.track_internal_event(EVENT)  # the task copied the block's context

        with oie.with_batched_redis_writes():
            oie.track_internal_event(EVENT)
            task = asyncio.create_task(late())
        assert oie.flush()  # the block's unit is exported before the task tracks
        release.set()
        await task

    asyncio.run(main())
    assert oie.flush()
    assert redis_client.get(total_key) == b"2"
    runtime = oie.configured()
    assert runtime is not None
    assert runtime.processors["redis"].stats == {"exported": 2, "dropped": 0, "failed": 0}


def test_without_a_block_exports_respect_the_batch_size(counting: CountingExporter) -> None:
    for _ in range(5):
        oie.track_internal_event(EVENT)
    assert oie.flush()
    assert sum(counting.calls) == 5
    assert max(counting.calls) <= 2


class GatedExporter(LogRecordExporter):
    """Keeps every exported batch; while the gate is closed, an export waits for it to open."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        self.batches.append(list(batch))
        self.waiting.set()
        self.gate.wait(10)
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


def test_queued_records_and_units_go_out_in_order_in_batches_of_at_most_the_batch_size_with_units_whole(
    meter_provider: Any,
) -> None:
    rng = random.Random(7)
    exporter = GatedExporter()
    processor = AnalyticsLogRecordProcessor(
        exporter,
        ExportLosses(meter_provider.get_meter("test")),
        name="order",
        max_export_batch_size=5,
        schedule_delay_millis=5,
    )

    def record() -> Any:
        return SimpleNamespace(log_record=SimpleNamespace())

    def while_the_worker_is_busy(queue: Callable[[], None]) -> None:
        exporter.gate.clear()
        exporter.waiting.clear()
        processor.on_emit(record())  # the worker takes it and waits in export
        assert exporter.waiting.wait(10)
        queue()
        exporter.gate.set()
        assert processor.force_flush(10_000)

    singles = [record() for _ in range(13)]
    while_the_worker_is_busy(lambda: [processor.on_emit(r) for r in singles])
    assert [len(batch) for batch in exporter.batches] == [1, 5, 5, 3]
    assert [id(r) for batch in exporter.batches[1:] for r in batch] == [id(r) for r in singles]

    exporter.batches.clear()
    sent: list[Any] = []
    units: list[list[Any]] = []

    def mixed() -> None:
        for _ in range(300):
            if rng.random() < 0.3:  # a unit of 1 to 5 records, queued whole
                unit = [record() for _ in range(rng.randint(1, 5))]
                processor.enqueue_unit(list(unit))
                units.append(unit)
                sent.extend(unit)
            else:
                sent.append(record())
                processor.on_emit(sent[-1])

    while_the_worker_is_busy(mixed)
    processor.shutdown()
    exported = [r for batch in exporter.batches[1:] for r in batch]
    assert [id(r) for r in exported] == [id(r) for r in sent]
    assert max(len(batch) for batch in exporter.batches) <= 5
    batch_of = {id(r): number for number, batch in enumerate(exporter.batches) for r in batch}
    assert all(len({batch_of[id(r)] for r in unit}) == 1 for unit in units)
    assert processor.stats == {"exported": 1 + 13 + 1 + len(sent), "dropped": 0, "failed": 0}
