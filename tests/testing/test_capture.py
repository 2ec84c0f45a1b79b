"""capture_internal_events and the internal_events fixture."""

from __future__ import annotations

from .conftest import InnerProject

HEADER = """
from app import ALICE, BOB, open_web_ide, view
from otel_internal_events.testing import capture_internal_events
"""


def test_capture_yields_the_events_tracked_in_the_block(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it(internal_events):
    view()
    with capture_internal_events() as events:
        open_web_ide(user=BOB, label="menu")
        view()
    view()
    assert [e.name for e in events] == ["open_web_ide", "view_page"]
    first = events[0]
    assert (first.user_id, first.project_id, first.namespace_id) == (6, 7, 3)
    assert first.properties == {"label": "menu"}
"""
    )
    result.assert_outcomes(passed=1)


def test_the_fixture_captures_every_event_of_the_test(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it(internal_events):
    open_web_ide()
    view()
    assert [e.name for e in internal_events.events] == ["open_web_ide", "view_page"]
    internal_events.clear()
    assert internal_events.events == []
"""
    )
    result.assert_outcomes(passed=1)


def test_the_fixture_reads_metric_values_with_the_current_week(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it(internal_events):
    open_web_ide(user=ALICE); open_web_ide(user=BOB); open_web_ide(user=BOB)
    assert internal_events.metric_value("counts.count_total_open_web_ide") == 3
    assert internal_events.metric_value("counts.count_total_open_web_ide_weekly") == 3
    assert internal_events.metric_value("redis_hll_counters.count_distinct_user_id_from_open_web_ide_monthly") == 2
"""
    )
    result.assert_outcomes(passed=1)


def test_the_fixture_sets_up_a_strict_runtime_with_the_tests_own_prefix(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
import pytest
from otel_internal_events import InvalidPropertyError, track_internal_event

def test_it(internal_events):
    settings = internal_events.runtime.settings
    assert settings.strict and settings.exporters == ("redis",)
    assert settings.key_prefix.startswith("internal-events-test:")
    with pytest.raises(InvalidPropertyError):
        track_internal_event("view_page", additional_properties={"label": "x"})
"""
    )
    result.assert_outcomes(passed=1)
