"""The Snowplow export process: payloads are built and sent in a child, which is replaced when it dies
(its batch sent again, as the same events), stopped by shutdown, and does not outlive the process
that started it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider

import otel_internal_events as oie
from otel_internal_events.exporters import ExportLosses, SnowplowExporter, event_id
from otel_internal_events.sinks import SnowplowSinkSettings

from ._helpers import SECRET, Micro, ScriptedCollector, alive, log_record, wait_until

EVENT = "create_merge_request"
DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")


def track(users: range) -> None:
    with oie.with_batched_redis_writes():
        for user in users:
            oie.track_internal_event(EVENT, user=user, project=3, namespace=30)


def kill(pid: int | None) -> int:
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(pid))
    return pid


@pytest.fixture(scope="module")
def module_collector() -> Iterator[ScriptedCollector]:
    collector = ScriptedCollector([200])
    yield collector
    collector.stop()


@contextmanager
def exporter_to(collector: ScriptedCollector, processes: int, **options: Any) -> Iterator[SnowplowExporter]:
    """A Snowplow exporter to ``collector`` (requests of two events), shut down afterwards."""
    settings = SnowplowSinkSettings(collector.url, batch_size=2, pseudonymization_secret=SECRET)
    meter_provider = MeterProvider()
    losses = ExportLosses(meter_provider.get_meter("test"))
    exporter = SnowplowExporter(settings, losses, processes=processes, **options)
    try:
        yield exporter
    finally:
        exporter.shutdown()
        meter_provider.shutdown()


@pytest.fixture(scope="module")
def module_exporter(module_collector: ScriptedCollector) -> Iterator[SnowplowExporter]:
    """One Snowplow exporter (one export process) for the module's tests, until a test kills it."""
    with exporter_to(module_collector, processes=1) as exporter:
        yield exporter


@pytest.fixture
def collector(module_collector: ScriptedCollector) -> Iterator[ScriptedCollector]:
    """The module's collector, forgetting what came before the test; it accepts every request."""
    with module_collector.lock:
        module_collector.statuses, module_collector.hold, module_collector.hold_from = [200], None, 0
        module_collector.requests = module_collector.events = 0
        module_collector.batches.clear()
    module_collector.received.clear()
    module_collector.holding.clear()
    yield module_collector
    if module_collector.hold is not None:
        module_collector.hold.set()


def test_payloads_are_built_and_sent_by_a_child_process(
    configure_snowplow: Callable[..., Any], snowplow_micro: Micro
) -> None:
    exporter = configure_snowplow().snowplow_exporter
    assert exporter.child_pid is None  # started on the first export, not before

    track(range(3))

    assert oie.flush(10_000)
    assert snowplow_micro.all() == {"total": 3, "good": 3, "bad": 0}
    child = exporter.child_pid  # the pid the child reported of itself
    assert child is not None
    assert child != os.getpid()
    assert alive(child)
    assert exporter.stats["delivered"] == 3


def test_the_host_process_imports_neither_snowplow_tracker_nor_requests(tmp_path: Path) -> None:
    code = (
        "import sys, urllib.request\n"
        "import otel_internal_events as oie\n"
        "from otel_internal_events.service import SnowplowMicroServer\n"
        "micro = SnowplowMicroServer(port=0)\n"
        "micro.start()\n"
        f"oie.configure(oie.Settings(definitions=({str(DEFINITIONS)!r},), exporters=('snowplow',),\n"
        f"    snowplow_endpoint=micro.url, pseudonymization_secret={SECRET!r}))\n"
        f"oie.track_internal_event({EVENT!r}, user=1, project=3, namespace=30)\n"
        "assert oie.flush(10_000)\n"
        "print(urllib.request.urlopen(micro.url + '/micro/all', timeout=5).read().decode())\n"
        "print(sorted(m for m in ('snowplow_tracker', 'requests') if m in sys.modules))\n"
        "oie.shutdown()\n"
        "micro.stop()\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    counts, modules = result.stdout.splitlines()
    assert json.loads(counts) == {"total": 1, "good": 1, "bad": 0}
    assert modules == "[]"


def test_a_killed_child_is_replaced_and_no_event_is_lost_or_sent_twice(
    module_exporter: SnowplowExporter, collector: ScriptedCollector
) -> None:
    delivered = module_exporter.stats["delivered"]
    module_exporter.export(records(range(3)))
    first = kill(module_exporter.child_pid)

    module_exporter.export(records(range(3, 7)))
    module_exporter.export(records(range(7, 9)))

    ids = [event for batch in collector.event_ids() for event in batch]
    assert len(ids) == len(set(ids)) == 9
    assert module_exporter.child_pid not in (None, first)
    assert module_exporter.stats["delivered"] - delivered == 9


def test_a_child_killed_mid_batch_is_replaced_and_the_batch_sent_again_with_the_same_ids(
    module_exporter: SnowplowExporter, collector: ScriptedCollector
) -> None:
    hold = threading.Event()
    collector.hold, collector.hold_from = hold, 1  # the second request is held
    delivered = module_exporter.stats["delivered"]
    exporting = threading.Thread(target=module_exporter.export, args=(records(range(6)),))  # three requests

    exporting.start()
    assert collector.holding.wait(10)  # the first request is done, the second in flight
    first = kill(module_exporter.child_pid)
    hold.set()
    exporting.join(10)

    assert not exporting.is_alive()
    assert module_exporter.child_pid not in (None, first)
    ids = collector.event_ids()
    # the new child sends the whole batch again: what the dead one sent goes again as the same events
    assert ids[2:4] == ids[0:2]
    assert len(ids) == 5
    assert len({*ids[2], *ids[3], *ids[4]}) == 6
    without_send_time = [[{k: v for k, v in p.items() if k != "stm"} for p in batch] for batch in collector.batches]
    assert without_send_time[2:4] == without_send_time[0:2]
    assert module_exporter.stats["delivered"] - delivered == 6  # counted once, from the new child's answer


def test_event_ids_sent_are_version_4_uuids_distinct_within_and_across_batches(
    module_exporter: SnowplowExporter, collector: ScriptedCollector
) -> None:
    module_exporter.export(records(range(4)))
    module_exporter.export(records(range(4)))

    ids = [uuid.UUID(event) for batch in collector.event_ids() for event in batch]
    assert len(set(ids)) == 8
    assert all(value.version == 4 and value.variant == uuid.RFC_4122 for value in ids)


@pytest.fixture(scope="module")
def shared_exporter(module_collector: ScriptedCollector) -> Iterator[SnowplowExporter]:
    """An exporter whose large batches two export processes share."""
    with exporter_to(module_collector, processes=2) as exporter:
        yield exporter


def test_a_large_batch_is_shared_by_two_processes_each_event_once_with_the_ids_of_the_whole_batch(
    shared_exporter: SnowplowExporter, collector: ScriptedCollector
) -> None:
    delivered = shared_exporter.stats["delivered"]

    shared_exporter.export(records(range(10)))  # two parts of five

    assert len(set(shared_exporter.child_pids)) == 2
    ids = sorted((uuid.UUID(event) for batch in collector.event_ids() for event in batch), key=lambda u: u.int)
    assert len(ids) == len(set(ids)) == 10
    # one base for the whole batch: the ids do not depend on how it was cut
    assert [str(u) for u in ids] == [event_id(ids[0].int, index) for index in range(10)]
    assert shared_exporter.stats["delivered"] - delivered == 10


def test_a_small_batch_goes_to_the_first_process_only(
    shared_exporter: SnowplowExporter, collector: ScriptedCollector
) -> None:
    """A batch shorter than two requests is not cut: each request stays full."""
    first = shared_exporter.child_pid
    shared_exporter.export(records(range(3)))

    assert shared_exporter.child_pid == first
    assert [len(batch) for batch in collector.event_ids()] == [2, 1]


def test_a_killed_second_process_is_replaced_and_no_event_is_lost_or_sent_twice(
    shared_exporter: SnowplowExporter, collector: ScriptedCollector
) -> None:
    shared_exporter.export(records(range(10)))
    second = kill(shared_exporter.child_pids[1])
    delivered = shared_exporter.stats["delivered"]
    with collector.lock:
        collector.batches.clear()

    shared_exporter.export(records(range(10, 20)))

    ids = [event for batch in collector.event_ids() for event in batch]
    assert len(ids) == len(set(ids)) == 10
    assert shared_exporter.stats["delivered"] - delivered == 10
    assert len(shared_exporter.child_pids) == 2 and second not in shared_exporter.child_pids


def test_a_process_that_died_while_idle_is_replaced_when_its_part_is_handed_over(
    collector: ScriptedCollector,
) -> None:
    """Without retry time (each process sends its part's first request only), a killed idle
    process makes no difference: a new one takes its part at once, not after the other parts are
    answered, when no time would be left for it."""
    with exporter_to(collector, processes=2, retry_timeout_millis=0) as exporter:
        exporter.export(records(range(10)))
        with_both = exporter.stats["delivered"]
        kill(exporter.child_pids[1])

        exporter.export(records(range(10, 20)))

        assert with_both == 4  # two parts, one request of two events each
        assert exporter.stats["delivered"] - with_both == with_both
        assert len(exporter.child_pids) == 2


def test_shutdown_stops_every_process(module_collector: ScriptedCollector) -> None:
    with exporter_to(module_collector, processes=2) as exporter:
        exporter.export(records(range(8)))
        children = exporter.child_pids
        assert len(children) == 2

    assert exporter.child_pids == []
    assert wait_until(lambda: not any(alive(pid) for pid in children))


def test_shutdown_stops_the_child(configure_snowplow: Callable[..., Any], snowplow_micro: Micro) -> None:
    exporter = configure_snowplow().snowplow_exporter
    track(range(2))
    assert oie.flush(10_000)
    child = exporter.child_pid
    assert child is not None

    oie.shutdown()

    assert exporter.child_pid is None
    assert not alive(child)
    assert snowplow_micro.all() == {"total": 2, "good": 2, "bad": 0}


def test_the_child_exits_when_the_process_that_started_it_dies(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "import otel_internal_events as oie\n"
        f"runtime = oie.configure(oie.Settings(definitions=({str(DEFINITIONS)!r},), exporters=('snowplow',),\n"
        "    snowplow_endpoint='http://127.0.0.1:9', retry_timeout_millis=100))\n"
        f"oie.track_internal_event({EVENT!r}, user=1, project=3, namespace=30)\n"
        "oie.flush(10_000)\n"
        "print(runtime.snowplow_exporter.child_pid, flush=True)\n"
        "os._exit(0)  # no shutdown, no atexit\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)

    child = int(result.stdout.strip())
    assert wait_until(lambda: not alive(child))


def test_event_ids_are_version_4_uuids_given_by_the_batch_base_and_the_index() -> None:
    base = int.from_bytes(os.urandom(16))
    ids = [event_id(base, index) for index in range(4096)]

    assert len(set(ids)) == 4096
    assert all(uuid.UUID(value).version == 4 and uuid.UUID(value).variant == uuid.RFC_4122 for value in ids)
    assert event_id(base, 17) == ids[17]
    assert not set(ids) & {event_id(base ^ (1 << 100), index) for index in range(4096)}
    assert event_id((1 << 128) - 1, 1) == str(uuid.UUID(int=0, version=4))  # wraps, still a version 4 UUID


def records(users: range) -> list[Any]:
    """Log records as the recorder writes them."""
    return [log_record(EVENT, user) for user in users]
