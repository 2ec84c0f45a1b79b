"""Events tracked against the real GitLab sample (``gitlab/``) give GitLab's metric values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import redis

import otel_internal_events as oie
from otel_internal_events.definitions import load_definitions
from otel_internal_events.errors import UnknownEventError

GITLAB = Path(__file__).resolve().parent / "gitlab"
TODAY = dt.date(2026, 11, 25)  # Wednesday of ISO week 2026-48, the clock fixture's day
LAST_WEEK = dt.date(2026, 11, 18)  # ISO week 2026-47: what 7d reads today
FOUR_WEEKS_AGO = dt.date(2026, 10, 28)  # ISO week 2026-44: the oldest week 28d reads today


@pytest.fixture
def track_on(configure: Any, clock: Any) -> Any:
    """``track_on(day, event, **kwargs)``: track with the runtime configured on the sample."""
    configure(definitions=(str(GITLAB),))

    def track(day: dt.date, event: str, **kwargs: Any) -> None:
        clock.set(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))
        oie.track_internal_event(event, **kwargs)

    yield track
    clock.set(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))


def value(key_path: str) -> int | float:
    assert oie.flush()
    return oie.metric_value(key_path, at=TODAY)


@pytest.fixture
def ssh_keys(track_on: Any) -> None:
    track_on(FOUR_WEEKS_AGO, "create_ssh_key", user=9)
    for user in (1, 2, 2):
        track_on(LAST_WEEK, "create_ssh_key", user=user)
    track_on(TODAY, "create_ssh_key", user=3)  # the current week: only all-time counts it


@pytest.mark.parametrize(
    ("key_path", "expected"),
    [
        ("counts.count_total_ssh_key_created_7d", 3),
        ("counts.count_total_ssh_key_created_28d", 4),
        ("counts.count_total_ssh_key_created", 5),
        ("redis_hll_counters.count_distinct_user_id_from_create_ssh_key_7d", 2),
        ("redis_hll_counters.count_distinct_user_id_from_create_ssh_key_28d", 3),
    ],
)
def test_totals_and_uniques_of_a_real_event(ssh_keys: None, key_path: str, expected: int) -> None:
    assert value(key_path) == expected


def test_a_filtered_total_counts_only_the_matching_property(track_on: Any) -> None:
    track_on(LAST_WEEK, "create_pat", user=1, additional_properties={"type": "granular"})
    track_on(LAST_WEEK, "create_pat", user=1, additional_properties={"type": "granular"})
    track_on(LAST_WEEK, "create_pat", user=2, additional_properties={"type": "legacy"})

    assert value("counts.count_total_personal_access_token_created_granular_weekly") == 2
    assert value("counts.count_total_personal_access_token_created_legacy_weekly") == 1


def test_a_redis_hll_metric_with_options_events_counts_unique_users(track_on: Any) -> None:
    for user in (1, 2, 1):
        track_on(LAST_WEEK, "i_quickactions_approve", user=user, project=7, namespace=3)
    track_on(TODAY, "i_quickactions_approve", user=4, project=7, namespace=3)

    assert value("redis_hll_counters.quickactions.i_quickactions_approve_weekly") == 2


def test_a_redis_hll_metric_of_events_not_defined_here_reads_zero(track_on: Any) -> None:
    assert value("redis_hll_counters.search.search_total_unique_counts_monthly") == 0


def test_legacy_events_sharing_an_action_both_load() -> None:
    registry = load_definitions(GITLAB)

    assert "error_invalid_user" not in registry.events
    assert {category for category, action in registry.legacy_events if action == "error_invalid_user"} == {
        "Projects::GoogleCloud::ConfigurationController",
        "Projects::GoogleCloud::ServiceAccountsController",
    }


def test_tracking_a_legacy_event_is_an_unknown_event(track_on: Any) -> None:
    with pytest.raises(UnknownEventError, match="does not set internal_events: true"):
        track_on(LAST_WEEK, "error_invalid_user", user=1, project=2, namespace=3)


def test_a_legacy_event_counts_nothing_in_redis(configure: Any, redis_client: redis.Redis, key_prefix: str) -> None:
    configure(definitions=(str(GITLAB),), strict=False)

    oie.track_internal_event("click_button", user=1)
    oie.track_internal_event("create_ssh_key", user=1)

    assert oie.flush()
    keys = {key.decode() for key in redis_client.scan_iter(match=f"{key_prefix}*")}
    assert any("create_ssh_key" in key for key in keys)
    assert not any("click_button" in key for key in keys)
