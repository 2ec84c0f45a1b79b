"""The Redis keys tracked events write: GitLab's formats, filters, prefix, TTLs and ISO weeks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.metrics import WEEKLY_KEY_TTL_SECONDS
from otel_internal_events.sinks import BATCH_MARKER_TAG

SIX_WEEKS = 6 * 7 * 24 * 3600


def _track(event: str, **kwargs: Any) -> None:
    oie.track_internal_event(event, **kwargs)
    assert oie.flush()


def test_six_weeks_is_the_weekly_ttl() -> None:
    assert WEEKLY_KEY_TTL_SECONDS == SIX_WEEKS


def test_every_event_gets_an_all_time_and_a_weekly_total(
    configure: Any, redis_client: Any, key_prefix: str, redis_keys: Any
) -> None:
    configure()
    _track("download_repository_archive")
    _track("download_repository_archive")
    assert redis_keys() == [
        "{event_counters}_download_repository_archive",
        "{event_counters}_download_repository_archive-2026-48",
    ]
    assert redis_client.get(f"{key_prefix}{{event_counters}}_download_repository_archive") == b"2"
    assert redis_client.get(f"{key_prefix}{{event_counters}}_download_repository_archive-2026-48") == b"2"


def test_an_event_writes_the_keys_of_its_metric_rules(
    configure: Any, redis_client: Any, key_prefix: str, redis_keys: Any
) -> None:
    configure()
    _track("create_pipeline", project=7, additional_properties={"label": "web", "value": 12})
    assert redis_keys() == [
        "{event_counters}_create_pipeline",
        "{event_counters}_create_pipeline-2026-48",
        "{event_sums}_create_pipeline-operator:sum(value)-2026-48",
        "{hll_counters}_create_pipeline-label-2026-48",
        "{hll_counters}_create_pipeline-project-2026-48",
    ]


def test_unique_user_key(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    for user in (5, 6, 5):
        _track("connect_editor_extension", user=user)
    assert redis_client.pfcount(f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-48") == 2


def test_sum_key_adds_value(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    _track("create_pipeline", project=1, additional_properties={"value": 2.5})
    _track("create_pipeline", project=1, additional_properties={"value": 3})
    key = f"{key_prefix}{{event_sums}}_create_pipeline-operator:sum(value)-2026-48"
    assert float(redis_client.get(key)) == 5.5


def test_sum_key_is_not_written_without_value(configure: Any, redis_keys: Any) -> None:
    configure()
    _track("create_pipeline", project=1, additional_properties={"label": "web"})
    assert [k for k in redis_keys() if k.startswith("{event_sums}")] == []


def test_string_filter_key(configure: Any, redis_client: Any, key_prefix: str, redis_keys: Any) -> None:
    configure()
    props = {"label": "diff_line", "property": "web"}
    _track("create_merge_request_comment", user=1, additional_properties=props)
    key = "{event_counters}_create_merge_request_comment-filter:[label:diff_line,property:web]-2026-48"
    assert [k for k in redis_keys() if "filter" in k] == [key]
    assert redis_client.get(key_prefix + key) == b"1"


def test_filter_needs_every_pair_to_match(configure: Any, redis_keys: Any) -> None:
    configure()
    props = {"label": "diff_line", "property": "api"}
    _track("create_merge_request_comment", user=1, additional_properties=props)
    assert [k for k in redis_keys() if "filter" in k] == []


def test_number_filter_key(configure: Any, redis_client: Any, key_prefix: str, redis_keys: Any) -> None:
    configure()
    _track("submit_merge_request_review", user=1, additional_properties={"value": 0})
    key = "{event_counters}_submit_merge_request_review-filter:[value:0]-2026-48"
    assert [k for k in redis_keys() if "filter" in k] == [key]
    assert redis_client.get(key_prefix + key) == b"1"


def test_number_filter_does_not_match_another_number(configure: Any, redis_keys: Any) -> None:
    configure()
    _track("submit_merge_request_review", user=1, additional_properties={"value": 2})
    assert [k for k in redis_keys() if "filter" in k] == []


def test_custom_property_filter_keys(configure: Any, redis_keys: Any) -> None:
    configure()
    _track("merge_merge_request", additional_properties={"merge_strategy": "squash"})
    assert [k for k in redis_keys() if "filter" in k] == [
        "{event_counters}_merge_merge_request-filter:[merge_strategy:squash]",
        "{event_counters}_merge_merge_request-filter:[merge_strategy:squash]-2026-48",
    ]


def test_custom_property_filter_not_matching_writes_nothing_for_the_rule(configure: Any, redis_keys: Any) -> None:
    configure()
    _track("merge_merge_request", additional_properties={"merge_strategy": "rebase_merge"})
    assert redis_keys() == [
        "{event_counters}_merge_merge_request",
        "{event_counters}_merge_merge_request-2026-48",
    ]


def test_filtered_unique_key(configure: Any, redis_client: Any, key_prefix: str, redis_keys: Any) -> None:
    configure()
    _track("run_ci_job", project=3, additional_properties={"runner_type": "group"})
    _track("run_ci_job", project=4, additional_properties={"runner_type": "instance"})
    key = "{hll_counters}_run_ci_job-filter:[runner_type:group]-project-2026-48"
    assert [k for k in redis_keys() if "filter" in k] == [key]
    assert redis_client.pfcount(key_prefix + key) == 1


def test_key_prefix_goes_in_front_of_every_key(configure: Any, redis_client: Any, key_prefix: str) -> None:
    prefix = key_prefix + "app:"
    configure(key_prefix=prefix)
    _track("connect_editor_extension", user=1)
    written = sorted(k.decode() for k in redis_client.scan_iter(match=f"{key_prefix}*"))
    assert [k for k in written if BATCH_MARKER_TAG not in k] == [
        prefix + "{event_counters}_connect_editor_extension",
        prefix + "{event_counters}_connect_editor_extension-2026-48",
        prefix + "{hll_counters}_connect_editor_extension-user-2026-48",
    ]
    assert redis_client.exists("{event_counters}_connect_editor_extension") == 0
    assert all(k.startswith(prefix) for k in written)  # the batch markers too


# TTLs


def test_hll_key_gets_six_weeks(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    _track("connect_editor_extension", user=1)
    ttl = redis_client.ttl(f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-48")
    assert SIX_WEEKS - 60 < ttl <= SIX_WEEKS


def test_hll_key_ttl_is_refreshed_on_every_write(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    key = f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-48"
    _track("connect_editor_extension", user=1)
    redis_client.expire(key, 100)
    _track("connect_editor_extension", user=1)
    assert SIX_WEEKS - 60 < redis_client.ttl(key) <= SIX_WEEKS


def test_weekly_total_gets_six_weeks(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    _track("download_repository_archive")
    ttl = redis_client.ttl(f"{key_prefix}{{event_counters}}_download_repository_archive-2026-48")
    assert SIX_WEEKS - 60 < ttl <= SIX_WEEKS


def test_weekly_total_ttl_is_not_reset(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    key = f"{key_prefix}{{event_counters}}_download_repository_archive-2026-48"
    _track("download_repository_archive")
    redis_client.expire(key, 100)
    _track("download_repository_archive")
    assert 0 < redis_client.ttl(key) <= 100
    assert redis_client.get(key) == b"2"


def test_weekly_total_without_ttl_gets_six_weeks(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    key = f"{key_prefix}{{event_counters}}_download_repository_archive-2026-48"
    redis_client.set(key, 5)
    _track("download_repository_archive")
    assert SIX_WEEKS - 60 < redis_client.ttl(key) <= SIX_WEEKS
    assert redis_client.get(key) == b"6"


def test_weekly_sum_ttl_is_not_reset(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    key = f"{key_prefix}{{event_sums}}_merge_merge_request-operator:sum(value)-2026-48"
    _track("merge_merge_request", additional_properties={"value": 1})
    assert SIX_WEEKS - 60 < redis_client.ttl(key) <= SIX_WEEKS
    redis_client.expire(key, 100)
    _track("merge_merge_request", additional_properties={"value": 1})
    assert 0 < redis_client.ttl(key) <= 100


def test_all_time_keys_never_expire(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    _track("merge_merge_request", additional_properties={"value": 1, "merge_strategy": "squash"})
    for key in (
        "{event_counters}_merge_merge_request",
        "{event_counters}_merge_merge_request-filter:[merge_strategy:squash]",
        "{event_sums}_merge_merge_request-operator:sum(value)",
    ):
        assert redis_client.ttl(key_prefix + key) == -1, key


# ISO weeks


@pytest.mark.parametrize(
    ("when", "week"),
    [
        (dt.datetime(2027, 1, 1, 12, tzinfo=dt.UTC), "2026-53"),
        (dt.datetime(2027, 1, 4, 0, 0, tzinfo=dt.UTC), "2027-01"),
        (dt.datetime(2026, 11, 29, 23, 59, 59, 900_000, tzinfo=dt.UTC), "2026-48"),
        (dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC), "2026-49"),
    ],
    ids=["2027-01-01", "2027-01-04", "sunday-23:59:59.9", "monday-00:00"],
)
def test_weekly_key_has_the_iso_week_of_the_event(
    configure: Any, clock: Any, redis_keys: Any, when: dt.datetime, week: str
) -> None:
    configure()
    clock.set(when)
    _track("download_repository_archive")
    assert redis_keys() == [
        "{event_counters}_download_repository_archive",
        f"{{event_counters}}_download_repository_archive-{week}",
    ]


def test_week_comes_from_the_event_timestamp_when_exported_later(configure: Any, clock: Any, redis_keys: Any) -> None:
    configure(schedule_delay_millis=60_000)
    clock.set(dt.datetime(2026, 11, 29, 23, 59, 59, 900_000, tzinfo=dt.UTC))
    oie.track_internal_event("connect_editor_extension", user=1)
    clock.set(dt.datetime(2026, 11, 30, 0, 0, 1, tzinfo=dt.UTC))
    assert oie.flush()
    assert redis_keys() == [
        "{event_counters}_connect_editor_extension",
        "{event_counters}_connect_editor_extension-2026-48",
        "{hll_counters}_connect_editor_extension-user-2026-48",
    ]
