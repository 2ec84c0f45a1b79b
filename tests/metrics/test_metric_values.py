"""Metric values end to end: events tracked in simulated weeks, read back from Redis."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.errors import UnknownMetricError

TODAY = dt.date(2026, 11, 25)  # Wednesday of ISO week 2026-48, the clock fixture's day
#: A day in each ISO week, by week number (2026).
WEEK = {
    43: dt.date(2026, 10, 21),
    44: dt.date(2026, 10, 28),
    45: dt.date(2026, 11, 4),
    46: dt.date(2026, 11, 11),
    47: dt.date(2026, 11, 18),
    48: dt.date(2026, 11, 23),
}


@pytest.fixture
def track_in(configure: Any, clock: Any) -> Any:
    """``track_in(week, event, **kwargs)``: track as if it happened in that 2026 ISO week."""
    configure()

    def track(week: int, event: str, **kwargs: Any) -> None:
        clock.set(dt.datetime.combine(WEEK[week], dt.time(12), tzinfo=dt.UTC))
        oie.track_internal_event(event, **kwargs)

    yield track
    clock.set(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))


def _value(key_path: str, at: dt.date = TODAY) -> int | float:
    assert oie.flush()
    return oie.metric_value(key_path, at=at)


@pytest.fixture
def review_activity(track_in: Any) -> None:
    track_in(43, "approve_merge_request", user=6)  # older than 28d
    track_in(44, "approve_merge_request", user=1)
    track_in(45, "submit_merge_request_review", user=1)
    track_in(45, "submit_merge_request_review", user=2)
    track_in(46, "create_merge_request_comment", user=3)
    track_in(47, "approve_merge_request", user=4)
    track_in(47, "create_merge_request_comment", user=4)
    track_in(48, "approve_merge_request", user=5)  # current week


def test_unique_28d_is_the_union_across_events_and_four_weeks(review_activity: None) -> None:
    assert _value("redis_hll_counters.count_distinct_user_id_from_review_activity_monthly") == 4


def test_unique_7d_is_the_last_complete_week_only(review_activity: None) -> None:
    assert _value("redis_hll_counters.count_distinct_user_id_from_review_activity_weekly") == 1


def test_unique_7d_includes_the_week_once_it_is_complete(review_activity: None) -> None:
    at = dt.date(2026, 11, 30)
    assert _value("redis_hll_counters.count_distinct_user_id_from_review_activity_weekly", at) == 1
    assert _value("redis_hll_counters.count_distinct_user_id_from_review_activity_monthly", at) == 5


@pytest.fixture
def pipelines(track_in: Any) -> None:
    for week, count in ((43, 1), (44, 1), (46, 2), (47, 3), (48, 4)):
        for _ in range(count):
            track_in(week, "create_pipeline", project=1)


@pytest.mark.parametrize(
    ("key_path", "expected"),
    [
        ("counts.count_total_create_pipeline_weekly", 3),
        ("counts.count_total_create_pipeline_monthly", 6),
        ("counts.count_total_create_pipeline", 11),
    ],
    ids=["7d", "28d", "all"],
)
def test_total_counts_per_time_frame(pipelines: None, key_path: str, expected: int) -> None:
    assert _value(key_path) == expected


@pytest.fixture
def merges(track_in: Any) -> None:
    track_in(46, "merge_merge_request", additional_properties={"value": 5})
    track_in(47, "merge_merge_request", additional_properties={"value": 10})
    track_in(47, "merge_merge_request", additional_properties={"value": 2.5})
    track_in(47, "merge_merge_request")  # no value: adds nothing
    track_in(48, "merge_merge_request", additional_properties={"value": 1})


@pytest.mark.parametrize(
    ("key_path", "expected"),
    [
        ("counts.sum_value_from_merge_merge_request_weekly", 12.5),
        ("counts.sum_value_from_merge_merge_request_monthly", 17.5),
        ("counts.sum_value_from_merge_merge_request", 18.5),
    ],
    ids=["7d", "28d", "all"],
)
def test_sums_per_time_frame(merges: None, key_path: str, expected: float) -> None:
    assert _value(key_path) == expected


def test_integral_sum_is_an_int(track_in: Any) -> None:
    track_in(47, "create_pipeline", project=1, additional_properties={"value": 4})
    track_in(47, "create_pipeline", project=1, additional_properties={"value": 3})
    value = _value("counts.sum_value_from_create_pipeline_weekly")
    assert (value, type(value)) == (7, int)


def test_filtered_total_adds_the_matching_rules(track_in: Any) -> None:
    for label in ("failed", "canceled", "canceled", "success"):
        track_in(47, "run_ci_job", project=1, additional_properties={"label": label})
    assert _value("counts.count_total_unsuccessful_jobs_monthly") == 3


def test_filtered_unique_counts_only_matching_events(track_in: Any) -> None:
    track_in(45, "open_web_ide", user=1, additional_properties={"language": "python"})
    track_in(47, "open_web_ide", user=2, additional_properties={"language": "python"})
    track_in(47, "open_web_ide", user=1, additional_properties={"language": "python"})
    track_in(47, "open_web_ide", user=3, additional_properties={"language": "ruby"})
    assert _value("redis_hll_counters.count_distinct_user_id_from_web_ide_python_sessions_monthly") == 2


def test_metrics_with_no_events_are_zero(configure: Any) -> None:
    configure()
    assert _value("counts.count_total_create_pipeline") == 0
    assert _value("redis_hll_counters.count_distinct_user_id_from_review_activity_monthly") == 0


def test_metric_value_defaults_to_today_by_the_clock(pipelines: None) -> None:
    assert oie.flush()
    assert oie.metric_value("counts.count_total_create_pipeline_weekly") == 3


def test_report_nests_key_paths(pipelines: None) -> None:
    assert oie.flush()
    report = oie.report(at=TODAY)
    assert report["as_of"] == "2026-11-25"
    assert report["counts"]["count_total_create_pipeline"] == 11
    assert report["counts"]["count_total_create_pipeline_weekly"] == 3
    assert report["redis_hll_counters"]["count_distinct_project_id_from_create_pipeline_monthly"] == 1
    assert "counts.count_total_create_pipeline" not in report


def test_unknown_metric_is_an_error(configure: Any) -> None:
    configure()
    with pytest.raises(UnknownMetricError) as raised:
        oie.metric_value("counts.nope")
    assert str(raised.value) == "unknown metric 'counts.nope'"


def test_unique_read_error_gives_minus_one(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    redis_client.set(f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-47", "not an hll")
    assert _value("redis_hll_counters.count_distinct_user_id_from_connect_editor_extension_weekly") == -1


def test_total_read_error_gives_minus_one(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    redis_client.hset(f"{key_prefix}{{event_counters}}_retry_ci_job-2026-47", "a", "1")
    assert _value("counts.count_total_retry_ci_job_weekly") == -1


def test_total_with_a_non_integer_value_gives_minus_one(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    redis_client.set(f"{key_prefix}{{event_counters}}_retry_ci_job-2026-47", "abc")
    assert _value("counts.count_total_retry_ci_job_weekly") == -1


def test_a_read_error_leaves_other_metrics_intact(configure: Any, redis_client: Any, key_prefix: str) -> None:
    configure()
    redis_client.set(f"{key_prefix}{{hll_counters}}_connect_editor_extension-user-2026-47", "not an hll")
    redis_client.set(f"{key_prefix}{{event_counters}}_retry_ci_job-2026-47", 2)
    report = oie.report(at=TODAY)
    assert report["redis_hll_counters"]["count_distinct_user_id_from_connect_editor_extension_weekly"] == -1
    assert report["counts"]["count_total_retry_ci_job_weekly"] == 2
