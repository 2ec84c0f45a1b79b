"""increment_usage_metrics and not_increment_usage_metrics: real values, read from Redis."""

from __future__ import annotations

from .conftest import InnerProject, assert_fails_with, failure_lines

HEADER = """
from app import ALICE, BOB, open_web_ide, view
from otel_internal_events.testing import increment_usage_metrics, not_increment_usage_metrics

TOTAL = "counts.count_total_open_web_ide"
"""


def test_passes_when_the_metric_increases_by_one(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with increment_usage_metrics(TOTAL):
        open_web_ide()
"""
    )
    result.assert_outcomes(passed=1)


def test_fails_when_the_metric_does_not_change(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with increment_usage_metrics(TOTAL, "counts.count_total_view_page"):
        view()
"""
    )
    assert_fails_with(
        result,
        "AssertionError: expected metric 'counts.count_total_open_web_ide' to change by 1, "
        "but it went from 0 to 0 (+0)",
    )


def test_the_current_week_counts_in_weekly_and_monthly_metrics(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with increment_usage_metrics(
        TOTAL + "_weekly", TOTAL + "_monthly", "redis_hll_counters.count_distinct_user_id_from_open_web_ide_weekly"
    ):
        open_web_ide()
"""
    )
    result.assert_outcomes(passed=1)


def test_unique_metrics_count_distinct_identifiers(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
UNIQUE = "redis_hll_counters.count_distinct_user_id_from_open_web_ide_monthly"

def test_two_users():
    with increment_usage_metrics(UNIQUE).by(2) & increment_usage_metrics(TOTAL).by(3):
        open_web_ide(user=ALICE); open_web_ide(user=BOB); open_web_ide(user=BOB)

def test_the_same_user_again():
    with increment_usage_metrics(UNIQUE).by(2):
        open_web_ide(user=ALICE); open_web_ide(user=ALICE)
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            "AssertionError: expected metric 'redis_hll_counters.count_distinct_user_id_from_open_web_ide_monthly' "
            "to change by 2, but it went from 0 to 1 (+1)"
        )
    )


def test_filtered_metrics_count_matching_events_only(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with increment_usage_metrics("counts.count_total_python_web_ide").by(1):
        open_web_ide(language="python"); open_web_ide(language="rust")
"""
    )
    result.assert_outcomes(passed=1)


def test_chains_pass_when_met(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_by():
    with increment_usage_metrics(TOTAL).by(2):
        open_web_ide(); open_web_ide()

def test_at_least_and_at_most():
    with increment_usage_metrics(TOTAL).at_least(1).at_most(3):
        open_web_ide(); open_web_ide()

def test_from_to(internal_events):
    open_web_ide()
    with increment_usage_metrics(TOTAL).from_(1).to(3):
        open_web_ide(); open_web_ide()

def test_to_alone():
    with increment_usage_metrics(TOTAL).to(1):
        open_web_ide()
"""
    )
    result.assert_outcomes(passed=4)


def test_chains_fail_with_before_and_after(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_by():
    with increment_usage_metrics(TOTAL).by(2):
        open_web_ide()

def test_at_least():
    with increment_usage_metrics(TOTAL).at_least(2):
        open_web_ide()

def test_at_most():
    with increment_usage_metrics(TOTAL).at_most(1):
        open_web_ide(); open_web_ide()

def test_from():
    with increment_usage_metrics(TOTAL).from_(5):
        open_web_ide()

def test_to_without_a_change(internal_events):
    open_web_ide()
    with increment_usage_metrics(TOTAL).to(1):
        pass
"""
    )
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines(
        [
            *failure_lines(
                "AssertionError: expected metric 'counts.count_total_open_web_ide' to change by 2, "
                "but it went from 0 to 1 (+1)"
            ),
            *failure_lines(
                "AssertionError: expected metric 'counts.count_total_open_web_ide' to change by at least 2, "
                "but it went from 0 to 1 (+1)"
            ),
            *failure_lines(
                "AssertionError: expected metric 'counts.count_total_open_web_ide' to change by at most 1, "
                "but it went from 0 to 2 (+2)"
            ),
            *failure_lines(
                "AssertionError: expected metric 'counts.count_total_open_web_ide' to change from 5, "
                "but it went from 0 to 1 (+1)"
            ),
            *failure_lines(
                "AssertionError: expected metric 'counts.count_total_open_web_ide' to change to 1, "
                "but it went from 1 to 1 (+0)"
            ),
        ]
    )


def test_not_increment_passes_and_fails(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_passes():
    with not_increment_usage_metrics(TOTAL):
        view()

def test_fails():
    with not_increment_usage_metrics(TOTAL, "counts.count_total_view_page"):
        open_web_ide()
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            "AssertionError: expected metric 'counts.count_total_open_web_ide' not to change, "
            "but it went from 0 to 1 (+1)"
        )
    )


def test_not_increment_takes_no_chains(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    not_increment_usage_metrics(TOTAL).by(1)
"""
    )
    assert_fails_with(result, "TypeError: not_increment_usage_metrics() takes no chains: the value must not change")


def test_an_unknown_key_path_raises_at_once_with_a_hint(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    increment_usage_metrics("counts.count_total_open_web")
"""
    )
    result.assert_outcomes(failed=1)
    # Which of the close key paths the hint names is the registry's choice.
    result.stdout.fnmatch_lines(
        [
            "E*UnknownMetricError: unknown metric 'counts.count_total_open_web'; "
            "did you mean 'counts.count_total_open_web_ide*'?"
        ]
    )


def test_a_metric_not_computed_from_events_is_refused(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    increment_usage_metrics("counts.projects")
"""
    )
    assert_fails_with(
        result,
        "ValueError: metric 'counts.projects' is not computed from internal events "
        "(status 'active', data_source 'database'): its value cannot change",
    )
