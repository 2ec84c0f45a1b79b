"""Every record of a batch is counted once: delivered, refused, invalid, or given up on.

These drive the Snowplow exporter through its processor with hand-made log records, so that a
record can be malformed (no timestamp: it cannot be built) and the processor's give-up can be
timed against the exporter's.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from otel_internal_events.exporters import AnalyticsLogRecordProcessor, ExportLosses, SnowplowExporter
from otel_internal_events.exporters import _snowplow as snowplow_exporter_module
from otel_internal_events.exporters._snowplow import _compact
from otel_internal_events.exporters._snowplow_child import BatchSender, Export, ProgressBoard, Settled, event_id
from otel_internal_events.sinks import SnowplowSinkSettings

from ._helpers import SECRET, ScriptedCollector

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")

EVENT = "create_merge_request"
TIMESTAMP = 1_764_072_000_000_000_000  # 2025-11-25


def record(user: int, timestamp: int | None = TIMESTAMP) -> Any:
    """A log record as the recorder writes it; without a timestamp it cannot be built."""
    log_record = SimpleNamespace(
        event_name=EVENT,
        timestamp=timestamp,
        observed_timestamp=None,
        trace_id=None,
        attributes={"internal_events.event": EVENT, "internal_events.user.id": user},
    )
    return SimpleNamespace(log_record=log_record)


class Pipeline:
    """A Snowplow exporter (requests of two events) behind its processor, and the failure counts."""

    def __init__(self, url: str, meter_provider: MeterProvider, points: Callable[[str], Any], **options: Any) -> None:
        timeout = options.pop("timeout_millis", 10_000)
        settings = SnowplowSinkSettings(url, batch_size=2, pseudonymization_secret=SECRET)
        losses = ExportLosses(meter_provider.get_meter("test"))
        self.exporter = SnowplowExporter(settings, losses, timeout_millis=timeout)
        self.processor = AnalyticsLogRecordProcessor(
            self.exporter, losses, name="snowplow", schedule_delay_millis=5, **options
        )
        self._points = points

    def failed(self) -> dict[str, int]:
        return {
            dict(attributes)["reason"]: value
            for attributes, value in self._points("internal_events.export.failed").items()
            if dict(attributes)["exporter"] == "snowplow"
        }


@pytest.fixture
def pipeline(meter_provider: MeterProvider, points: Callable[[str], Any]) -> Iterator[Callable[..., Pipeline]]:
    made: list[Pipeline] = []

    def make(url: str, **options: Any) -> Pipeline:
        made.append(Pipeline(url, meter_provider, points, **options))
        return made[-1]

    yield make
    for each in made:
        each.processor.shutdown(5_000)


def test_an_invalid_event_is_counted_once_as_invalid(
    pipeline: Callable[..., Pipeline], scripted_collector: Callable[..., ScriptedCollector]
) -> None:
    collector = scripted_collector([200])
    under_test = pipeline(collector.url)

    under_test.processor.enqueue_unit([record(1), record(2), record(3, timestamp=None), record(4)])

    assert under_test.processor.force_flush(10_000) is False  # drained, and one event lost
    assert under_test.failed() == {"invalid_event": 1}
    assert under_test.exporter.stats["delivered"] == 3
    assert collector.events == 3


def test_an_invalid_event_never_reached_before_giving_up_is_counted_once_as_given_up(
    pipeline: Callable[..., Pipeline], scripted_collector: Callable[..., ScriptedCollector]
) -> None:
    collector = scripted_collector([503])
    under_test = pipeline(collector.url, retry_timeout_millis=300)

    under_test.processor.enqueue_unit([record(1), record(2), record(3, timestamp=None), record(4)])

    assert under_test.processor.force_flush(10_000) is False
    assert under_test.failed() == {"retries_exhausted": 4}  # not 4 + 1 invalid


def test_what_a_child_settled_before_it_died_is_counted(
    pipeline: Callable[..., Pipeline], scripted_collector: Callable[..., ScriptedCollector]
) -> None:
    hold = threading.Event()
    collector = scripted_collector([400, 200], hold=hold, hold_from=1)  # the first request is refused
    under_test = pipeline(collector.url)

    under_test.processor.enqueue_unit([record(user) for user in range(4)])
    assert collector.holding.wait(10)  # the second request is in flight
    child = under_test.exporter.child_pid
    assert child is not None
    os.kill(child, signal.SIGKILL)
    hold.set()

    assert under_test.processor.force_flush(10_000) is False  # drained, and two events refused
    assert under_test.failed() == {"rejected": 2}  # known from the child's progress board only
    assert under_test.exporter.stats["rejected"] == 2
    assert under_test.exporter.stats["delivered"] == 2
    ids = collector.event_ids()
    assert ids[2] == ids[1]  # the request in flight, sent again; the refused one is not


def test_an_answer_after_the_processor_gave_up_is_not_counted_as_failed_again(
    pipeline: Callable[..., Pipeline], scripted_collector: Callable[..., ScriptedCollector]
) -> None:
    hold = threading.Event()
    collector = scripted_collector([400, 200], hold=hold)  # every request waits for the hold
    under_test = pipeline(collector.url, timeout_millis=300, retry_timeout_millis=100)

    under_test.processor.enqueue_unit([record(1), record(2)])
    assert under_test.processor.force_flush(10_000) is False
    assert under_test.failed() == {"retries_exhausted": 2}

    hold.set()  # the collector refuses the two events, after the processor gave up on them
    under_test.processor.on_emit(record(3))
    assert under_test.processor.force_flush(10_000)
    assert under_test.failed() == {"retries_exhausted": 2}
    assert under_test.exporter.stats["rejected"] == 2
    assert under_test.exporter.stats["delivered"] == 1


def test_an_unexpected_error_while_sending_keeps_what_was_settled_and_the_rest_for_the_retry(
    scripted_collector: Callable[..., ScriptedCollector], monkeypatch: pytest.MonkeyPatch
) -> None:
    collector = scripted_collector([200])
    sink = SnowplowSinkSettings(collector.url, batch_size=2, pseudonymization_secret=SECRET).build()
    sender = BatchSender(sink)
    post = sink.emitter._post
    calls = []

    def second_post_raises(batch: list[dict[str, str]]) -> tuple[int, str | None]:
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("unexpected")
        return post(batch)

    monkeypatch.setattr(sink.emitter, "_post", second_post_raises)
    records = _compact([record(user) for user in range(4)])
    progress: list[Settled] = []

    answer = sender.export(Export(1, 7, 12345, 1_000, 0, records), progress.append)
    assert (answer.ok, answer.settled.done, answer.settled.delivered) == (False, 2, 2)
    assert answer.error is not None and "unexpected" in answer.error
    assert progress == [Settled(1, 2, 2, 0, 0, 1)]

    retry = sender.export(Export(2, 7, 12345, 1_000, 2, records.since(2)))
    assert (retry.ok, retry.settled.done, retry.settled.delivered) == (True, 2, 2)
    assert collector.event_ids() == [
        [event_id(12345, 0), event_id(12345, 1)],
        [event_id(12345, 2), event_id(12345, 3)],
    ]
    sink.close()


def test_what_the_child_settled_before_the_processor_gave_up_is_not_counted_as_given_up(
    pipeline: Callable[..., Pipeline], scripted_collector: Callable[..., ScriptedCollector]
) -> None:
    hold = threading.Event()
    collector = scripted_collector([200], hold=hold, hold_from=1)  # the first request goes through, the second waits
    under_test = pipeline(collector.url, timeout_millis=300, retry_timeout_millis=100)

    under_test.processor.enqueue_unit([record(user) for user in range(4)])
    assert under_test.processor.force_flush(10_000) is False  # gave up while the second request waited
    assert under_test.failed() == {"retries_exhausted": 2}  # not 4: the first two were delivered
    assert under_test.exporter.stats["delivered"] == 2  # read off the progress board

    hold.set()
    under_test.processor.on_emit(record(9))
    assert under_test.processor.force_flush(10_000)
    assert under_test.exporter.stats["delivered"] == 5  # the late answer adds its two, once
    assert under_test.failed() == {"retries_exhausted": 2}


def test_a_board_write_cut_off_by_the_childs_death_is_not_read() -> None:
    board = ProgressBoard.create()
    board.write(Settled(1, 4, 4, 0, 0, 2))
    assert board.read() == Settled(1, 4, 4, 0, 0, 2)
    writing = struct.Struct("<Q")
    writing.pack_into(board._memory, 0, 3)  # the next write began (an odd version) and never ended
    assert board.read() is None
    board.close()


def test_a_shutdown_while_the_child_starts_leaves_no_child_behind(
    pipeline: Callable[..., Pipeline],
    scripted_collector: Callable[..., ScriptedCollector],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector = scripted_collector([200])
    started = threading.Event()
    real_command = snowplow_exporter_module.command

    def slow_start(executable: str, fd: int, progress_fd: int) -> list[str]:
        started.set()
        argv = real_command(executable, fd, progress_fd)
        return [*argv[:2], "import time; time.sleep(2)\n" + argv[2]]

    monkeypatch.setattr(snowplow_exporter_module, "command", slow_start)
    under_test = pipeline(collector.url, retry_timeout_millis=500)
    under_test.processor.enqueue_unit([record(1), record(2)])
    assert started.wait(10)

    under_test.exporter.shutdown()  # the export thread is still waiting for the child to start
    under_test.processor.force_flush(10_000)
    assert under_test.exporter.child_pid is None
    assert collector.requests == 0
    assert under_test.failed() == {"retries_exhausted": 2}
