"""The Snowplow export process: payloads are built and sent in a child, which is replaced when it dies,
stopped by shutdown, and does not outlive the process that started it."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.exporters._snowplow_child import ProgressBoard, Settled, event_id

from ._helpers import SECRET, Micro, ScriptedCollector, wait_until

EVENT = "create_merge_request"
DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process handling")


def track(users: range) -> None:
    with oie.with_batched_redis_writes():
        for user in users:
            oie.track_internal_event(EVENT, user=user, project=3, namespace=30)


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
    configure_snowplow: Callable[..., Any], snowplow_micro: Micro
) -> None:
    exporter = configure_snowplow().snowplow_exporter
    track(range(3))
    assert oie.flush(10_000)
    first = exporter.child_pid
    assert first is not None

    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: not alive(first))
    track(range(3, 7))
    track(range(7, 9))

    assert oie.flush(10_000)
    assert snowplow_micro.all() == {"total": 9, "good": 9, "bad": 0}
    assert len({e["event"]["event_id"] for e in snowplow_micro.good()}) == 9
    assert exporter.child_pid not in (None, first)
    assert exporter.stats["delivered"] == 9


def test_a_child_killed_during_an_export_fails_it_and_the_retry_goes_through_a_new_child(
    configure: Callable[..., Any], scripted_collector: Callable[..., ScriptedCollector]
) -> None:
    hold = threading.Event()
    collector = scripted_collector([200], hold=hold)
    exporter = configure(snowplow_endpoint=collector.url, pseudonymization_secret=SECRET).snowplow_exporter

    track(range(2))
    assert collector.received.wait(10)  # the child is waiting for the collector's answer
    first = exporter.child_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    hold.set()

    assert oie.flush(10_000)
    assert exporter.child_pid not in (None, first)
    assert exporter.stats["delivered"] == 2  # the second child's delivery; the first never answered


def test_a_child_killed_mid_batch_is_followed_by_one_that_sends_only_what_was_not_done_with_the_same_ids(
    configure: Callable[..., Any], scripted_collector: Callable[..., ScriptedCollector]
) -> None:
    hold = threading.Event()
    collector = scripted_collector([200], hold=hold, hold_from=1)  # the second request is held
    exporter = configure(
        snowplow_endpoint=collector.url, pseudonymization_secret=SECRET, snowplow_batch_size=2
    ).snowplow_exporter

    track(range(6))  # one export batch: three requests of two events
    assert collector.holding.wait(10)  # the first request is done, the second in flight
    first = exporter.child_pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: not alive(first))
    hold.set()

    assert oie.flush(10_000)
    assert exporter.child_pid not in (None, first)
    ids = collector.event_ids()
    # the first request is not sent again; the one in flight when the child died is, as the same events
    assert ids[0] not in ids[1:]
    assert ids[1:] == [ids[1], ids[1], ids[3]]
    assert len({*ids[0], *ids[1], *ids[3]}) == 6
    assert [payload for payload in collector.batches[2] if payload.pop("stm")] == [
        payload for payload in collector.batches[1] if payload.pop("stm")
    ]


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


def test_without_a_shared_memory_file_the_child_still_delivers(
    configure_snowplow: Callable[..., Any], snowplow_micro: Micro, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_memory_file(*args: Any, **kwargs: Any) -> int:
        raise OSError(errno.EMFILE, "no memory file here")

    monkeypatch.setattr(os, "memfd_create", no_memory_file, raising=False)
    monkeypatch.setattr(tempfile, "mkstemp", no_memory_file)
    board = ProgressBoard.create()
    assert board.fileno() == -1  # a board of this process only
    board.write(Settled(3, 2, 1, 1, 0, 1))
    assert board.read() == Settled(3, 2, 1, 1, 0, 1)
    board.close()

    exporter = configure_snowplow().snowplow_exporter
    track(range(3))
    assert oie.flush(10_000)
    assert snowplow_micro.all() == {"total": 3, "good": 3, "bad": 0}
    assert exporter.stats["delivered"] == 3
