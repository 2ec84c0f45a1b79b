"""One write a batch: applied once however often it is sent, and a bad event fails alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

from otel_internal_events.definitions import load_definitions
from otel_internal_events.sinks import RedisCounterSink
from otel_internal_events.wire import TrackedEvent

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
#: 2026-11-25 12:00 UTC (ISO week 2026-48)
NOW_NS = 1_795_608_000 * 10**9
WEEK = "2026-48"


@pytest.fixture
def sink(redis_client: redis.Redis, key_prefix: str) -> RedisCounterSink:
    return RedisCounterSink(redis_client, load_definitions(DEFINITIONS), key_prefix)


def pipeline(user: Any = 1, value: Any = 2, label: str = "web") -> TrackedEvent:
    return TrackedEvent(
        "create_pipeline", NOW_NS, user_id=user, project_id=7, properties={"label": label, "value": value}
    )


def total(client: redis.Redis, prefix: str) -> int:
    return int(client.get(f"{prefix}{{event_counters}}_create_pipeline") or 0)


def test_a_batch_sent_again_with_its_id_is_applied_once(
    sink: RedisCounterSink, redis_client: redis.Redis, key_prefix: str
) -> None:
    events = [pipeline(user) for user in range(3)]

    first = sink.write(events, "batch-1")
    again = sink.write(events, "batch-1")
    other = sink.write(events, "batch-2")

    assert (first.duplicate, again.duplicate, other.duplicate) == (False, True, False)
    assert total(redis_client, key_prefix) == 6
    ttl = redis_client.ttl(f"{key_prefix}{{internal_events_batches}}_batch-1")
    assert 590 < ttl <= 600  # remembered for the dedup window


def test_without_an_id_or_a_window_every_sending_applies(redis_client: redis.Redis, key_prefix: str) -> None:
    events = [pipeline()]
    no_window = RedisCounterSink(redis_client, load_definitions(DEFINITIONS), key_prefix, dedup_window_s=0)

    no_window.write(events, "batch-1")
    no_window.write(events, "batch-1")
    no_window.write(events)

    assert total(redis_client, key_prefix) == 3


def test_an_event_with_a_value_redis_cannot_store_fails_alone(
    sink: RedisCounterSink, redis_client: redis.Redis, key_prefix: str
) -> None:
    good = [pipeline(1, 2), pipeline(2, 3.5)]
    nan, surrogate, huge = pipeline(3, float("nan")), pipeline(5, 1, label="w\ud800"), pipeline(4, 10**400)

    plan = sink.write([good[0], nan, surrogate, good[1], huge], "b")

    assert plan.invalid_events == [nan, surrogate, huge]
    assert total(redis_client, key_prefix) == 2
    sums = redis_client.get(f"{key_prefix}{{event_sums}}_create_pipeline-operator:sum(value)-{WEEK}")
    assert float(sums or 0) == 5.5
    assert redis_client.pfcount(f"{key_prefix}{{hll_counters}}_create_pipeline-project-{WEEK}") == 1


def test_a_refused_command_fails_only_its_events_and_the_rest_is_written(
    sink: RedisCounterSink, redis_client: redis.Redis, key_prefix: str
) -> None:
    redis_client.set(f"{key_prefix}{{event_sums}}_create_pipeline-operator:sum(value)-{WEEK}", "not a number")
    events = [pipeline(1, 2), pipeline(2, None)]  # the second has no value: it writes no sum

    plan = sink.write(events, "b")

    assert plan.refused_events == 1
    assert "not a valid float" in str(plan.command_errors[0])
    assert total(redis_client, key_prefix) == 2
