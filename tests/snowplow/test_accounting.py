"""Every ScriptedSnowplow record of a batch is counted once: delivered, refused, invalid, or given up on.

These drive one ScriptedSnowplow exporter, behind its processor, for the whole module (one export
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
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from otel_internal_events.exporters import ExportLosses, SnowplowExporter
from otel_internal_events.sinks import SnowplowSinkSettings

from ._helpers import SECRET, TIMESTAMP, ScriptedCollector, ScriptedSnowplow, alive, log_record, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")

EVENT = "create_merge_request"


@pytest.fixture(scope="module")
def module_snowplow() -> Iterator[ScriptedSnowplow]:
    """The module's exporter: requests time out after 1 s, transient failures are retried for 1.5 s."""
    snowplow = ScriptedSnowplow(request_timeout_millis=1_000, retry_timeout_millis=1_500)
    yield snowplow
    snowplow.close()


@pytest.fixture
def snowplow(module_snowplow: ScriptedSnowplow) -> ScriptedSnowplow:
    """The module's exporter; the test calls :meth:`ScriptedSnowplow.begin` first."""
    return module_snowplow


def test_an_invalid_event_is_counted_once_as_invalid(snowplow: ScriptedSnowplow) -> None:
    collector = snowplow.begin([200])

    assert snowplow.send([record(1), record(2), record(3, timestamp=None), record(4)]) is False  # one event lost

    assert snowplow.failed() == {"invalid_event": 1}
    assert snowplow.stats()["delivered"] == 3
    assert snowplow.stats()["invalid"] == 1
    assert collector.events == 3
    snowplow.assert_each_counted_once(4)


def test_an_invalid_event_in_a_batch_given_up_on_is_counted_once_as_invalid(snowplow: ScriptedSnowplow) -> None:
    collector = snowplow.begin([503])

    assert snowplow.send([record(1), record(2), record(3, timestamp=None), record(4)]) is False

    assert snowplow.failed() == {"invalid_event": 1, "retries_exhausted": 3}  # not 4 + 1
    assert collector.requests >= 2  # retried before giving up
    assert snowplow.stats()["transient_failures"] == collector.requests
    snowplow.assert_each_counted_once(4)


def test_giving_up_counts_only_the_events_not_delivered(snowplow: ScriptedSnowplow) -> None:
    snowplow.begin([200, 503])  # the first request goes through, then never again

    assert snowplow.send([record(user) for user in range(4)]) is False

    assert snowplow.stats()["delivered"] == 2
    assert snowplow.failed() == {"retries_exhausted": 2}  # not 4: the first two were delivered
    snowplow.assert_each_counted_once(4)


def test_a_refusal_by_a_child_that_died_is_not_counted_when_the_new_child_delivers(snowplow: ScriptedSnowplow) -> None:
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
    snowplow: ScriptedSnowplow,
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
    snowplow: ScriptedSnowplow,
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


def test_records_not_meant_for_snowplow_are_left_out_and_never_counted(snowplow: ScriptedSnowplow) -> None:
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


def record(user: int, timestamp: int | None = TIMESTAMP, send_snowplow: bool = True) -> Any:
    return log_record(EVENT, user, timestamp, send_snowplow)
