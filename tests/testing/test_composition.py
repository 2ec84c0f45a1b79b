"""Expectations combined with ``&`` (and ``with a, b``), and ``changes`` for the test's own state."""

from __future__ import annotations

from .conftest import InnerProject, assert_fails_with, failure_lines

HEADER = """
from app import ALICE, PROJECT, open_web_ide, view
from otel_internal_events.testing import (
    changes, increment_usage_metrics, not_trigger_internal_events, trigger_internal_events,
)

TOTAL = "counts.count_total_open_web_ide"
opened = []

def open_and_remember():
    opened.append(open_web_ide())
"""


def test_events_metrics_and_state_pass_together(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with (
        trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT)
        & increment_usage_metrics(TOTAL, TOTAL + "_weekly")
        & not_trigger_internal_events("view_page")
        & changes(lambda: len(opened), "len(opened)").by(1)
    ):
        open_and_remember()
"""
    )
    result.assert_outcomes(passed=1)


def test_every_failure_is_reported_at_once(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with (
        trigger_internal_events("open_web_ide")
        & increment_usage_metrics("counts.count_total_view_page")
        & changes(lambda: len(opened), "len(opened)").by(2)
    ):
        open_and_remember()
"""
    )
    assert_fails_with(
        result,
        "AssertionError: 2 expectations failed:",
        "(1) expected metric 'counts.count_total_view_page' to change by 1, but it went from 0 to 0 (+0)",
        "(2) expected len(opened) to change by 2, but it went from 0 to 1 (+1)",
    )


def test_the_call_form_works_on_a_combination(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    expectation = trigger_internal_events("open_web_ide") & increment_usage_metrics(TOTAL)
    assert expectation.of(open_web_ide) == "opened"
"""
    )
    result.assert_outcomes(passed=1)


def test_a_with_statement_of_several_expectations_works_too(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_passes():
    with trigger_internal_events("open_web_ide"), increment_usage_metrics(TOTAL):
        open_web_ide()

def test_fails():
    with trigger_internal_events("open_web_ide"), increment_usage_metrics(TOTAL):
        view()
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            "AssertionError: expected metric 'counts.count_total_open_web_ide' to change by 1, "
            "but it went from 0 to 0 (+0)"
        )
    )


def test_changes_alone_needs_any_change_unless_chained(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
state = {"n": 0}

def test_any_change():
    with changes(lambda: state["n"]):
        state["n"] += 5

def test_from_to():
    with changes(lambda: state["n"], "n").from_(5).to(6):
        state["n"] += 1

def test_no_change():
    with changes(lambda: state["n"], "n"):
        pass

def test_wrong_end():
    with changes(lambda: state["n"], "n").to(10):
        state["n"] += 1
"""
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            *failure_lines("AssertionError: expected n to change, but it went from 6 to 6 (+0)"),
            *failure_lines("AssertionError: expected n to change to 10, but it went from 6 to 7 (+1)"),
        ]
    )


def test_changes_needs_no_runtime(project: InnerProject) -> None:
    result = project.run(
        """
import otel_internal_events as oie
from otel_internal_events.testing import changes

def test_it():
    items = []
    with changes(lambda: len(items)).by(1):
        items.append(1)
    assert oie.configured() is None
"""
    )
    result.assert_outcomes(passed=1)
