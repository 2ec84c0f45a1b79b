"""Delivery: batching, retry on 5xx and network errors, none on 4xx, the buffer bound, flush and shutdown.

The retry tests drive one Snowplow exporter for the whole module (one export process) against a
collector scripted per test; the others go through a pipeline of their own.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.sinks import SendResult, SnowplowEmitter

from ._helpers import SECRET, Micro, ScriptedCollector, ScriptedSnowplow, log_record, start_micro

EVENT = "create_merge_request"


def track(users: range | list[int]) -> None:
    with oie.with_batched_redis_writes():  # one export batch, so the request count is exact
        for user in users:
            oie.track_internal_event(EVENT, user=user, project=3, namespace=30)


def snowplow_failed(points: Callable[[str], Any]) -> dict[str, int]:
    return {
        dict(attributes)["reason"]: value
        for attributes, value in points("internal_events.export.failed").items()
        if dict(attributes)["exporter"] == "snowplow"
    }


def without_send_time(payload: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in payload.items() if key != "stm"}


@pytest.fixture(scope="module")
def scripted() -> Iterator[ScriptedSnowplow]:
    """The module's exporter: transient failures retried for 1 s."""
    under_test = ScriptedSnowplow(request_timeout_millis=10_000, retry_timeout_millis=1_000)
    yield under_test
    under_test.close()


@pytest.fixture
def dropping_port() -> Iterator[tuple[int, threading.Event]]:
    """A loopback port where every connection is accepted and closed unanswered (a collector that is
    down), and an event set once one was; the port is free again after the first."""
    listener = socket.create_server(("127.0.0.1", 0))
    dropped = threading.Event()

    def drop_one() -> None:
        connection, _ = listener.accept()
        connection.close()
        listener.close()
        dropped.set()

    thread = threading.Thread(target=drop_one, daemon=True)
    thread.start()
    yield listener.getsockname()[1], dropped
    if not dropped.is_set():
        listener.close()


def test_events_tracked_while_the_collector_is_down_are_delivered_once_it_is_up(
    configure: Callable[..., Any], dropping_port: tuple[int, threading.Event]
) -> None:
    port, dropped = dropping_port
    configure(snowplow_endpoint=f"http://127.0.0.1:{port}", pseudonymization_secret=SECRET)

    track(range(5))
    assert dropped.wait(10)  # the first attempt failed: the export process retries
    micro = start_micro(port)
    try:
        assert oie.flush(30_000)
        assert micro.all() == {"total": 5, "good": 5, "bad": 0}
        assert len({e["event"]["event_id"] for e in micro.good()}) == 5
    finally:
        micro.server.stop()


def test_while_the_collector_does_not_answer_the_buffer_is_bounded_and_drops_are_counted(
    configure: Callable[..., Any], scripted_collector: Callable[..., ScriptedCollector], points: Callable[[str], Any]
) -> None:
    hold = threading.Event()
    collector = scripted_collector([200], hold=hold)
    runtime = configure(
        snowplow_endpoint=collector.url, pseudonymization_secret=SECRET, max_queue_size=4, max_export_batch_size=4
    )
    track([1])  # taken by the worker, whose export now waits for the collector
    assert collector.holding.wait(10)

    for user in range(2, 8):  # 6 more: 4 fit in the Snowplow queue, 2 are dropped
        oie.track_internal_event(EVENT, user=user, project=3, namespace=30)
        # the dispatcher hands each record on before the next (its own queue holds 4 as well)
        assert runtime.dispatcher is not None and runtime.dispatcher.force_flush(5_000)

    dropped = {dict(a)["exporter"]: v for a, v in points("internal_events.export.dropped").items()}
    assert dropped["snowplow"] == 2  # (the Redis queue is as small: it may drop some too)
    assert runtime.processors["snowplow"].stats["dropped"] == 2
    hold.set()
    assert not oie.flush(30_000)  # drained, and two events dropped
    assert collector.events == 5
    assert runtime.snowplow_exporter.stats["delivered"] == 5


def test_a_4xx_answer_is_not_retried_and_is_counted_and_logged_once(
    configure: Callable[..., Any],
    scripted_collector: Callable[..., ScriptedCollector],
    points: Callable[[str], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    collector = scripted_collector([400])
    runtime = configure(snowplow_endpoint=collector.url, pseudonymization_secret=SECRET)

    with caplog.at_level(logging.WARNING, logger="otel_internal_events"):
        track(range(3))
        assert not oie.flush(10_000)  # drained, and the events refused
        track(range(3, 5))
        assert not oie.flush(10_000)

    assert collector.requests == 2  # one per export, none repeated
    assert collector.events == 5
    assert snowplow_failed(points) == {"rejected": 5}
    assert runtime.snowplow_exporter.stats["rejected"] == 5
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1
    assert "HTTP 400" in refused[0].getMessage()


def test_5xx_answers_are_retried_until_delivered(scripted: ScriptedSnowplow) -> None:
    collector = scripted.begin([500, 503, 200])

    scripted.exporter.export(records(range(2)))

    assert collector.requests == 3
    assert collector.events == 6  # the same two events, three times
    assert scripted.stats() == {"delivered": 2, "rejected": 0, "invalid": 0, "requests": 3, "transient_failures": 2}
    assert scripted.failed() == {}
    # every attempt sends the same events: same ids, same payloads but for the sending time
    first = [without_send_time(payload) for payload in collector.batches[0]]
    assert all([without_send_time(payload) for payload in batch] == first for batch in collector.batches[1:])
    assert len({payload["eid"] for payload in first}) == 2


def test_a_partial_success_is_not_sent_twice(scripted: ScriptedSnowplow) -> None:
    collector = scripted.begin([200, 500, 200])  # second request of the export fails once

    scripted.exporter.export(records(range(4)))

    assert collector.requests == 3
    assert collector.events == 6  # 2 delivered, then 2 failed, then the same 2 again
    assert scripted.stats()["delivered"] == 4
    ids = collector.event_ids()
    assert ids[2] == ids[1]
    assert len({*ids[0], *ids[1]}) == 4


def test_a_retry_after_a_first_request_failed_sends_every_event_once_with_the_ids_of_the_first_try(
    scripted: ScriptedSnowplow,
) -> None:
    collector = scripted.begin([503, 200])

    scripted.exporter.export(records(range(10)))

    ids = collector.event_ids()
    assert ids[1] == ids[0]  # the failed request, sent again as the same events
    assert len(ids) == 6
    delivered = [eid for batch in ids[1:] for eid in batch]
    assert len(delivered) == len(set(delivered)) == 10
    assert scripted.stats()["delivered"] == 10


def test_giving_up_counts_only_the_events_not_delivered_and_none_not_meant_for_snowplow(
    scripted: ScriptedSnowplow,
) -> None:
    collector = scripted.begin([200, 503])  # the first request goes through, then never again

    scripted.exporter.export([*records(range(9, 10), send_snowplow=False), *records(range(5))])

    assert scripted.stats()["delivered"] == 2
    # 5 for Snowplow, 2 of them delivered: 3 failed (not the 6 records of the batch, nor one invalid)
    assert scripted.failed() == {"retries_exhausted": 3}
    assert collector.requests >= 3  # the second request was retried
    assert len(collector.batches[0]) == 2  # the first request: two Snowplow events, the other record left out


def test_giving_up_after_the_retry_timeout_is_counted_and_never_raised(
    configure: Callable[..., Any], free_port: int, points: Callable[[str], Any]
) -> None:
    runtime = configure(snowplow_endpoint=f"http://127.0.0.1:{free_port}", retry_timeout_millis=200)

    track(range(2))

    assert oie.flush(10_000) is False
    assert snowplow_failed(points) == {"retries_exhausted": 2}
    assert runtime.snowplow_exporter.stats["transient_failures"] >= 1
    assert runtime.processors["snowplow"].stats["failed"] == 2  # counted once: the processor does not retry


def test_an_oversized_batch_is_split(configure: Callable[..., Any], snowplow_micro: Micro) -> None:
    snowplow_micro.server.collector.max_body_bytes = 2_000  # one event fits (about 1.5 kB), two do not
    configure(snowplow_endpoint=snowplow_micro.url, pseudonymization_secret=SECRET)

    track(range(4))

    assert oie.flush(10_000)
    assert snowplow_micro.all() == {"total": 4, "good": 4, "bad": 0}
    posts = [body for method, _target, body in snowplow_micro.requests if method == "POST"]
    assert len(posts) == 1 + 2 + 4  # 4 -> 413, 2 + 2 -> 413, 1 + 1 + 1 + 1 -> 200


def test_sending_happens_off_the_callers_thread(
    configure: Callable[..., Any], scripted_collector: Callable[..., ScriptedCollector]
) -> None:
    hold = threading.Event()
    collector = scripted_collector([200], hold=hold)
    configure(snowplow_endpoint=collector.url, pseudonymization_secret=SECRET)

    oie.track_internal_event(EVENT, user=1, project=3, namespace=30)

    # The call has returned, yet the collector is still holding its answer to the request.
    assert collector.received.wait(10)
    assert not hold.is_set()
    hold.set()
    assert oie.flush(10_000)
    assert collector.events == 1


def test_shutdown_delivers_what_is_buffered(configure_snowplow: Callable[..., Any], snowplow_micro: Micro) -> None:
    configure_snowplow(schedule_delay_millis=60_000)  # nothing leaves before shutdown

    for user in range(3):
        oie.track_internal_event(EVENT, user=user, project=3, namespace=30)
    oie.shutdown()

    assert snowplow_micro.all() == {"total": 3, "good": 3, "bad": 0}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_delivers_through_an_export_process_of_its_own(
    configure_snowplow: Callable[..., Any], snowplow_micro: Micro
) -> None:
    exporter = configure_snowplow().snowplow_exporter
    oie.track_internal_event(EVENT, user=1, project=3, namespace=30)
    assert oie.flush(10_000)  # the parent's export process is running
    parents_child = exporter.child_pid
    assert parents_child is not None

    pid = os.fork()
    if pid == 0:  # the forked copy: track, deliver, and leave without running the parent's clean-ups
        code = 1
        try:
            oie.track_internal_event(EVENT, user=2, project=3, namespace=30)
            delivered = oie.flush(10_000) and exporter.stats["delivered"] == 2
            code = 0 if delivered and exporter.child_pid not in (None, parents_child) else 1
            exporter.shutdown()  # its own export process, not the parent's
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    oie.track_internal_event(EVENT, user=3, project=3, namespace=30)
    assert oie.flush(10_000)
    assert exporter.child_pid == parents_child
    assert snowplow_micro.all() == {"total": 3, "good": 3, "bad": 0}


def test_the_emitter_adds_up_what_it_sent_and_stops_at_a_transient_failure(
    scripted_collector: Callable[..., ScriptedCollector],
) -> None:
    collector = scripted_collector([200, 413, 200, 400, 500])
    emitter = SnowplowEmitter(collector.url, batch_size=2)
    payloads = [{"e": "se", "eid": str(i)} for i in range(8)]

    result = emitter.send(payloads)

    # [0,1] 200; [2,3] 413, split: [2] 200, [3] 400 (refused: not retried); [4,5] 500: stop
    assert collector.event_ids() == [["0", "1"], ["2", "3"], ["2"], ["3"], ["4", "5"]]
    assert (result.delivered, result.rejected, result.first_rejected_status, result.requests) == (3, 1, 400, 5)
    assert (result.transient_failures, result.last_error) == (1, "HTTP 500")
    assert result.unsent == payloads[4:]

    again = emitter.send(result.unsent, result=result)  # 500 again: the same result adds up both calls
    emitter.close()
    assert again is result
    assert (result.requests, result.transient_failures, result.delivered) == (6, 2, 3)
    assert result.unsent == payloads[4:]


def test_the_emitter_starts_no_request_but_the_first_once_the_deadline_has_passed(
    scripted_collector: Callable[..., ScriptedCollector],
) -> None:
    collector = scripted_collector([200])
    emitter = SnowplowEmitter(collector.url, batch_size=2)
    payloads = [{"e": "se", "eid": str(i)} for i in range(6)]

    result = emitter.send(payloads, deadline=time.monotonic())
    emitter.close()

    assert collector.event_ids() == [["0", "1"]]
    assert (result.delivered, result.requests, result.transient_failures) == (2, 1, 0)
    assert result.unsent == payloads[2:]
    assert isinstance(result, SendResult)


def records(users: range, send_snowplow: bool = True) -> list[Any]:
    """Log records as the recorder writes them."""
    return [log_record(EVENT, user, send_snowplow=send_snowplow) for user in users]
