"""The matchers pass and fail as GitLab's RSpec matchers do, so that ported specs keep their meaning.

GitLab counts every ``track_event(name, ...)`` call and checks the attributes on the Snowplow
call: ``label``/``property``/``value`` only when given, custom properties exactly, the category
given or the described class's (the default without ``with``). Its specs stub the metric time
frames so that 7d reads the previous and the current week, 28d five weeks.
"""

from __future__ import annotations

from .conftest import InnerProject, assert_fails_with, failure_lines

TRIGGER = """
import pytest

import otel_internal_events as oie
from app import ALICE, BOB, PROJECT, WebIde, open_web_ide, view
from otel_internal_events.testing import trigger_internal_events

WITH_ALICE = dict(user=ALICE, project=PROJECT)
"""
DIFFERED = "but it was tracked once, 0 times with the expected attributes"


def test_label_property_and_value_are_compared_only_when_given(project: InnerProject) -> None:
    result = project.run(
        TRIGGER
        + """
def test_not_given():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE):
        open_web_ide(label="menu", value=2)

def test_given_and_equal():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE, additional_properties={"label": "menu"}):
        open_web_ide(label="menu", value=2)

def test_given_as_none_is_not_compared():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE, additional_properties={"label": None}):
        open_web_ide(label="menu")

def test_given_and_different():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE, additional_properties={"value": 3}):
        open_web_ide(label="menu", value=2)
"""
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(failure_lines(DIFFERED, "#1: additional_properties['value']: expected 3, tracked 2"))


def test_custom_properties_must_be_equal_exactly(project: InnerProject) -> None:
    result = project.run(
        TRIGGER
        + """
def test_equal():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE, additional_properties={"language": "go"}):
        open_web_ide(label="menu", language="go")

def test_tracked_but_not_given():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE):
        open_web_ide(label="menu", language="go")

def test_given_but_not_tracked():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE, additional_properties={"language": "go"}):
        open_web_ide(label="menu")
"""
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            *failure_lines(DIFFERED, "#1: additional_properties['language']: not expected, tracked 'go'"),
            *failure_lines(DIFFERED, "#1: additional_properties['language']: expected 'go', not tracked"),
        ]
    )


def test_a_second_different_call_breaks_once(project: InnerProject) -> None:
    result = project.run(
        TRIGGER
        + """
def test_it():
    with trigger_internal_events("open_web_ide").with_(user=BOB, project=PROJECT).once():
        open_web_ide(user=ALICE)
        open_web_ide(user=BOB)
"""
    )
    assert_fails_with(
        result,
        "AssertionError: expected internal event 'open_web_ide' to be tracked once with user=6, project=7, "
        "namespace=3, additional_properties={}, category='InternalEventTracking', but it was tracked twice, "
        "once with the expected attributes",
        "'open_web_ide' tracked with other attributes once:",
        "#1: user: expected 6, tracked 5",
    )


def test_an_event_kept_from_snowplow_fails_with_or_without_with(project: InnerProject) -> None:
    result = project.run(
        TRIGGER
        + """
def test_without_with():
    with trigger_internal_events("view_page"):
        oie.track_internal_event("view_page", send_snowplow_event=False)

def test_with():
    with trigger_internal_events("view_page").with_():
        oie.track_internal_event("view_page", send_snowplow_event=False)
"""
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            *failure_lines(
                f"AssertionError: expected internal event 'view_page' to be tracked once, {DIFFERED}",
                "#1: send_snowplow_event: expected True, tracked False",
            ),
            *failure_lines(
                "AssertionError: expected internal event 'view_page' to be tracked once with user=None, project=None, "
                f"namespace=None, additional_properties={{}}, category='InternalEventTracking', {DIFFERED}",
                "#1: send_snowplow_event: expected True, tracked False",
            ),
        ]
    )


def test_without_with_the_category_must_be_the_default(project: InnerProject) -> None:
    result = project.run(
        TRIGGER
        + """
def test_none():
    with trigger_internal_events("open_web_ide"):
        open_web_ide()

def test_the_default_named():
    with trigger_internal_events("view_page"):
        oie.track_internal_event("view_page", category="InternalEventTracking")

@pytest.mark.described_class(cls=WebIde)
def test_a_class_name_fails_even_when_described():
    with trigger_internal_events("open_web_ide"):
        WebIde().open()
"""
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            f"AssertionError: expected internal event 'open_web_ide' to be tracked once, {DIFFERED}",
            "#1: category: expected 'InternalEventTracking', tracked 'WebIde'",
        )
    )


def test_the_described_class_marker_is_the_category_with_expects(project: InnerProject) -> None:
    result = project.run(
        TRIGGER
        + """
@pytest.mark.described_class(cls=WebIde)
def test_a_class():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE):
        WebIde().open()

@pytest.mark.described_class("WebIde")
class TestByName:
    def test_a_name(self):
        with trigger_internal_events("open_web_ide").with_(**WITH_ALICE):
            WebIde().open()

    def test_a_given_category_wins(self):
        with trigger_internal_events("open_web_ide").with_(**WITH_ALICE, category=None):
            open_web_ide()

@pytest.mark.described_class(cls=WebIde)
def test_an_event_without_the_category_fails():
    with trigger_internal_events("open_web_ide").with_(**WITH_ALICE):
        open_web_ide()

@pytest.mark.described_class(3)
def test_a_marker_without_a_class_is_an_error():
    pass
"""
    )
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            # pytest shows errors before failures
            *failure_lines(
                "TypeError: @pytest.mark.described_class takes a class name or cls=<class>, got args=(3,), kwargs={}"
            ),
            *failure_lines("#1: category: expected 'WebIde', tracked 'InternalEventTracking'"),
        ]
    )


def test_gitlab_count_chains(project: InnerProject) -> None:
    result = project.run(
        TRIGGER
        + """
def test_thrice():
    with trigger_internal_events("view_page").thrice():
        view(); view(); view()

def test_counts_by_name_and_times_as_a_word():
    views = trigger_internal_events("view_page").exactly("twice").times()
    with views & trigger_internal_events("open_web_ide").at_least("once").time():
        view(); view(); open_web_ide()

def test_exactly_n_times():
    with trigger_internal_events("view_page").exactly(3).times():
        view(); view(); view()

def test_thrice_fails_on_twice():
    with trigger_internal_events("view_page").thrice():
        view(); view()

def test_an_unknown_count_word():
    trigger_internal_events("view_page").at_most("often")
"""
    )
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            *failure_lines(
                "AssertionError: expected internal event 'view_page' to be tracked exactly 3 times, "
                "but it was tracked twice"
            ),
            *failure_lines("ValueError: a count is an int >= 0 or one of 'once', 'twice', 'thrice', got 'often'"),
        ]
    )


METRICS = """
from app import open_web_ide
from otel_internal_events.testing import increment_usage_metrics

TOTAL = "counts.count_total_open_web_ide"
"""


def test_by_at_least_and_by_at_most_are_gitlabs_names(project: InnerProject) -> None:
    result = project.run(
        METRICS
        + """
def test_pass():
    with increment_usage_metrics(TOTAL).by_at_least(1).by_at_most(2):
        open_web_ide(); open_web_ide()

def test_our_names_too():
    with increment_usage_metrics(TOTAL).at_least(2).at_most(2):
        open_web_ide(); open_web_ide()

def test_by_at_least_fails():
    with increment_usage_metrics(TOTAL).by_at_least(2):
        open_web_ide()

def test_by_at_most_fails():
    with increment_usage_metrics(TOTAL).by_at_most(1):
        open_web_ide(); open_web_ide()
"""
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            *failure_lines(
                "AssertionError: expected metric 'counts.count_total_open_web_ide' to change by at least 2, "
                "but it went from 0 to 1 (+1)"
            ),
            *failure_lines(
                "AssertionError: expected metric 'counts.count_total_open_web_ide' to change by at most 1, "
                "but it went from 0 to 2 (+2)"
            ),
        ]
    )


def test_time_frames_read_back_as_gitlabs_stubbed_ones(project: InnerProject) -> None:
    result = project.run(
        """
import time
import uuid

import pytest

import otel_internal_events as oie
from app import open_web_ide
from otel_internal_events.testing import increment_usage_metrics, not_increment_usage_metrics

DAY_NS = 86_400 * 10**9
NOW = time.time_ns()
back = [0]
WEEKLY = "counts.count_total_open_web_ide_weekly"
MONTHLY = "counts.count_total_open_web_ide_monthly"
UNIQUE_WEEKLY = "redis_hll_counters.count_distinct_user_id_from_open_web_ide_weekly"


@pytest.fixture(autouse=True)
def runtime_with_a_clock():
    runtime = oie.configure(
        definitions=("defs",),
        strict=True,
        exporters=("redis",),
        key_prefix=f"time-frames:{uuid.uuid4().hex}:",
        clock=lambda: NOW - back[0],
    )
    yield
    oie.reset()
    runtime.delete_keys()


def open_days_ago(days):
    back[0] = days * DAY_NS
    try:
        open_web_ide()
    finally:
        back[0] = 0


def test_the_previous_week_counts_in_7d_and_28d():
    with increment_usage_metrics(WEEKLY, MONTHLY, UNIQUE_WEEKLY):
        open_days_ago(7)

def test_two_weeks_back_counts_in_28d_only():
    with increment_usage_metrics(MONTHLY) & not_increment_usage_metrics(WEEKLY, UNIQUE_WEEKLY):
        open_days_ago(14)

def test_four_weeks_back_counts_in_28d():
    with increment_usage_metrics(MONTHLY):
        open_days_ago(28)

def test_five_weeks_back_counts_in_neither():
    with not_increment_usage_metrics(WEEKLY, MONTHLY):
        open_days_ago(35)

def test_five_weeks_back_fails_an_increment():
    with increment_usage_metrics(MONTHLY):
        open_days_ago(35)
"""
    )
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            "AssertionError: expected metric 'counts.count_total_open_web_ide_monthly' to change by 1, "
            "but it went from 0 to 0 (+0)"
        )
    )
