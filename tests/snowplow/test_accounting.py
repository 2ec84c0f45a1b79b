"""Every Snowplow record of a batch is counted once: delivered, refused, invalid, or given up on.

These drive one Snowplow exporter, behind its processor, for the whole module (one export
process), with hand-made log records, so that a record can be malformed (no timestamp: it cannot
be built). The collector is scripted per test; what it accepted is checked against the counters.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_internal_events.exporters import AnalyticsLogRecordProcessor, ExportLosses, SnowplowExporter
from otel_internal_events.sinks import SnowplowSinkSettings
from otel_internal_events.wire import encode

from ._helpers import SECRET, ScriptedCollector, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")

EVENT = "create_merge_request"
TIMESTAMP = 1_764_072_000_000_000_000  # 2025-11-25


def record(user: int, timestamp: int | None = TIMESTAMP, send_snowplow: bool = True) -> Any:
    """A log record as the recorder writes it; without a timestamp it cannot be built."""
    log_record = SimpleNamespace(
        event_name=EVENT,
        timestamp=timestamp,
        observed_timestamp=None,
        trace_id=None,
        attributes=encode(EVENT, user_id=user, send_snowplow=send_snowplow),
    )
    return SimpleNamespace(log_record=log_record)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Snowplow:
    """A Snowplow exporter (requests of two events) behind its processor, sending to a scripted
    collector; :meth:`begin` gives a test a fresh script, and the counts below start there."""

    def __init__(self, request_timeout_millis: int, retry_timeout_millis: int) -> None:
        self.collector = ScriptedCollector([200])
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        losses = ExportLosses(self.meter_provider.get_meter("test"))
        settings = SnowplowSinkSettings(
            self.collector.url, batch_size=2, timeout_millis=request_timeout_millis, pseudonymization_secret=SECRET
        )
        self.exporter = SnowplowExporter(
            settings, losses, timeout_millis=request_timeout_millis, retry_timeout_millis=retry_timeout_millis
        )
        self.processor = AnalyticsLogRecordProcessor(self.exporter, losses, name="snowplow", schedule_delay_millis=5)
        self._failed_before: dict[str, int] = {}
        self._stats_before: dict[str, int] = {}

    def begin(self, statuses: list[int], hold: threading.Event | None = None, hold_from: int = 0) -> ScriptedCollector:
        self.processor.force_flush(10_000)  # also: the next flush says whether this test lost records
        collector = self.collector
        if collector.hold is not None:
            collector.hold.set()  # let go of what an earlier test held
        with collector.lock:
            collector.statuses, collector.hold, collector.hold_from = statuses, hold, hold_from
            collector.requests = collector.events = 0
            collector.batches.clear()
        collector.received.clear()
        collector.holding.clear()
        self._failed_before, self._stats_before = self._failed(), self.exporter.stats
        return collector

    def send(self, records: list[Any]) -> bool:
        """Queue ``records`` as one batch and flush: True when none was lost."""
        self.processor.enqueue_unit(records)
        return self.processor.force_flush(10_000)

    def failed(self) -> dict[str, int]:
        """The Snowplow records failed since the test began, by reason."""
        before = self._failed_before
        return {
            reason: count - before.get(reason, 0)
            for reason, count in self._failed().items()
            if count != before.get(reason, 0)
        }

    def stats(self) -> dict[str, int]:
        """The exporter's stats since the test began."""
        return {key: value - self._stats_before[key] for key, value in self.exporter.stats.items()}

    def accepted_ids(self) -> list[str]:
        """The event ids of the requests the collector accepted (2xx), in order."""
        statuses = self.collector.statuses
        return [
            event_id
            for number, ids in enumerate(self.collector.event_ids())
            if 200 <= statuses[min(number, len(statuses) - 1)] < 300
            for event_id in ids
        ]

    def assert_each_counted_once(self, records: int) -> None:
        """Each event the collector accepted is counted delivered once, and every other record failed."""
        accepted = set(self.accepted_ids())
        assert self.stats()["delivered"] == len(accepted)
        assert len(accepted) + sum(self.failed().values()) == records

    def _failed(self) -> dict[str, int]:
        data = self.reader.get_metrics_data()
        return {
            str(point.attributes["reason"]): int(point.value)
            for resource_metrics in (data.resource_metrics if data else ())
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
            if metric.name == "internal_events.export.failed"
            for point in metric.data.data_points
            if point.attributes["exporter"] == "snowplow"
        }

    def close(self) -> None:
        self.collector.stop()
        self.processor.shutdown(5_000)
        self.meter_provider.shutdown()


@pytest.fixture(scope="module")
def module_snowplow() -> Iterator[Snowplow]:
    """The module's exporter: requests time out after 1 s, transient failures are retried for 1.5 s."""
    snowplow = Snowplow(request_timeout_millis=1_000, retry_timeout_millis=1_500)
    yield snowplow
    snowplow.close()


@pytest.fixture
def snowplow(module_snowplow: Snowplow) -> Snowplow:
    """The module's exporter; the test calls :meth:`Snowplow.begin` first."""
    return module_snowplow


def test_an_invalid_event_is_counted_once_as_invalid(snowplow: Snowplow) -> None:
    collector = snowplow.begin([200])

    assert snowplow.send([record(1), record(2), record(3, timestamp=None), record(4)]) is False  # one event lost

    assert snowplow.failed() == {"invalid_event": 1}
    assert snowplow.stats()["delivered"] == 3
    assert snowplow.stats()["invalid"] == 1
    assert collector.events == 3
    snowplow.assert_each_counted_once(4)


def test_an_invalid_event_in_a_batch_given_up_on_is_counted_once_as_invalid(snowplow: Snowplow) -> None:
    collector = snowplow.begin([503])

    assert snowplow.send([record(1), record(2), record(3, timestamp=None), record(4)]) is False

    assert snowplow.failed() == {"invalid_event": 1, "retries_exhausted": 3}  # not 4 + 1
    assert collector.requests >= 2  # retried before giving up
    assert snowplow.stats()["transient_failures"] == collector.requests
    snowplow.assert_each_counted_once(4)


def test_giving_up_counts_only_the_events_not_delivered(snowplow: Snowplow) -> None:
    snowplow.begin([200, 503])  # the first request goes through, then never again

    assert snowplow.send([record(user) for user in range(4)]) is False

    assert snowplow.stats()["delivered"] == 2
    assert snowplow.failed() == {"retries_exhausted": 2}  # not 4: the first two were delivered
    snowplow.assert_each_counted_once(4)


def test_a_refusal_by_a_child_that_died_is_not_counted_when_the_new_child_delivers(snowplow: Snowplow) -> None:
    hold = threading.Event()
    collector = snowplow.begin([400, 200], hold=hold, hold_from=1)  # the first request is refused

    snowplow.processor.enqueue_unit([record(user) for user in range(4)])
    assert collector.holding.wait(10)  # the second request is in flight
    child = snowplow.exporter.child_pid
    assert child is not None
    os.kill(child, signal.SIGKILL)
    assert wait_until(lambda: not alive(child))
    hold.set()

    assert snowplow.processor.force_flush(10_000)  # drained, and nothing lost
    assert snowplow.failed() == {}  # the dead child never answered: only the new child's answer counts
    assert snowplow.stats()["delivered"] == 4
    assert snowplow.stats()["rejected"] == 0
    ids = collector.event_ids()
    assert ids[2:] == ids[:2]  # the batch sent again from its start, as the same events
    snowplow.assert_each_counted_once(4)


def test_a_request_that_outlasts_the_retry_time_is_waited_for_and_counted_once_as_given_up(
    snowplow: Snowplow,
) -> None:
    hold = threading.Event()
    collector = snowplow.begin([200], hold=hold)  # every request waits for the hold

    assert snowplow.send([record(1), record(2)]) is False  # the requests time out until the retry time is over
    assert snowplow.failed() == {"retries_exhausted": 2}
    assert snowplow.stats()["transient_failures"] == collector.requests

    hold.set()  # the collector answers again
    assert snowplow.send([record(3)])
    assert snowplow.failed() == {"retries_exhausted": 2}
    assert snowplow.stats()["delivered"] == 1


def test_a_request_that_timed_out_is_sent_again_with_the_same_ids_and_what_was_delivered_is_not(
    snowplow: Snowplow,
) -> None:
    hold = threading.Event()
    collector = snowplow.begin([200], hold=hold, hold_from=1)  # the second request is held past its timeout

    snowplow.processor.enqueue_unit([record(user) for user in range(6)])
    assert wait_until(lambda: collector.requests >= 3)  # it timed out, and was sent again
    hold.set()

    assert snowplow.processor.force_flush(10_000)
    ids = collector.event_ids()
    assert ids[2] == ids[1]
    assert ids[0] not in ids[1:]
    assert len({*ids[0], *ids[1], *ids[-1]}) == 6
    assert snowplow.stats()["transient_failures"] == 1
    assert snowplow.failed() == {}
    snowplow.assert_each_counted_once(6)


def test_records_not_meant_for_snowplow_are_left_out_and_never_counted(snowplow: Snowplow) -> None:
    collector = snowplow.begin([200])

    assert snowplow.send([record(1), record(2, send_snowplow=False), record(3)])

    assert collector.events == 2
    assert snowplow.stats()["delivered"] == 2
    assert snowplow.failed() == {}
    snowplow.assert_each_counted_once(2)


def test_a_shutdown_while_the_child_starts_leaves_no_child_behind(
    scripted_collector: Callable[..., ScriptedCollector],
    meter_provider: MeterProvider,
    points: Callable[[str], Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every Python process started from now on waits at start-up, after saying so, until "go" exists.
    (tmp_path / "sitecustomize.py").write_text(
        "import os, pathlib, time\n"
        "gate = pathlib.Path(__file__).parent\n"
        "(gate / 'started').write_text(str(os.getpid()))\n"
        "deadline = time.monotonic() + 60\n"
        "while not (gate / 'go').exists() and time.monotonic() < deadline:\n"
        "    time.sleep(0.01)\n"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    collector = scripted_collector([200])
    settings = SnowplowSinkSettings(collector.url, pseudonymization_secret=SECRET)
    exporter = SnowplowExporter(settings, ExportLosses(meter_provider.get_meter("test")))
    exporting = threading.Thread(target=exporter.export, args=([record(1), record(2)],))
    exporting.start()
    try:
        assert wait_until(lambda: (tmp_path / "started").exists() and (tmp_path / "started").read_text() != "")
        child = int((tmp_path / "started").read_text())

        stopping = threading.Thread(target=exporter.shutdown)  # the export still waits for the child to start
        stopping.start()

        stopping.join(10)  # long before the child would be let go (60 s)
        assert not stopping.is_alive()
        exporting.join(10)
        assert not exporting.is_alive()
        assert exporter.child_pid is None
        assert wait_until(lambda: not alive(child))
        assert collector.requests == 0
        failed = {dict(a)["reason"]: v for a, v in points("internal_events.export.failed").items()}
        assert failed == {"retries_exhausted": 2}
    finally:
        (tmp_path / "go").touch()
