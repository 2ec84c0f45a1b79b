"""The matchers around async code (pytest-asyncio in the inner project)."""

from __future__ import annotations

from .conftest import InnerProject, assert_fails_with, failure_lines

HEADER = """
import asyncio

import pytest

from app import open_web_ide, open_web_ide_later
from otel_internal_events.testing import increment_usage_metrics, trigger_internal_events

TOTAL = "counts.count_total_open_web_ide"
"""


def test_events_tracked_in_awaited_coroutines_count(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
@pytest.mark.asyncio
async def test_awaited():
    with trigger_internal_events("open_web_ide") & increment_usage_metrics(TOTAL):
        assert await open_web_ide_later() == "opened"

@pytest.mark.asyncio
async def test_tasks_and_threads():
    with trigger_internal_events("open_web_ide").times(3) & increment_usage_metrics(TOTAL).by(3):
        await asyncio.gather(open_web_ide_later(), open_web_ide_later())
        await asyncio.to_thread(open_web_ide)
"""
    )
    result.assert_outcomes(passed=2)


def test_fails_in_async_code_with_the_same_message(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
@pytest.mark.asyncio
async def test_it():
    with trigger_internal_events("open_web_ide").twice():
        await open_web_ide_later()
"""
    )
    assert_fails_with(
        result, "AssertionError: expected internal event 'open_web_ide' to be tracked twice, but it was tracked once"
    )


def test_the_call_form_awaits_an_async_function(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
@pytest.mark.asyncio
async def test_passes():
    assert await trigger_internal_events("open_web_ide").of(open_web_ide_later, label="menu") == "opened"

@pytest.mark.asyncio
async def test_fails():
    await increment_usage_metrics(TOTAL).by(2).of(open_web_ide_later)
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            "AssertionError: expected metric 'counts.count_total_open_web_ide' to change by 2, "
            "but it went from 0 to 1 (+1)"
        )
    )


def test_a_call_form_coroutine_never_awaited_fails_the_test(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
import warnings

@pytest.mark.asyncio
async def test_it():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trigger_internal_events("open_web_ide").of(open_web_ide_later)
"""
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_it*",
            "1 internal events expectation(s) were started and never checked: "
            "was a coroutine returned by .of(...) left un-awaited?",
        ]
    )
