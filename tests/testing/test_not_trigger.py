"""not_trigger_internal_events around a block."""

from __future__ import annotations

from .conftest import InnerProject, assert_fails_with

HEADER = """
from app import BOB, open_web_ide, save, view
from otel_internal_events.testing import not_trigger_internal_events
"""


def test_passes_when_the_named_events_are_not_tracked(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with not_trigger_internal_events("open_web_ide", "click_save"):
        view()
"""
    )
    result.assert_outcomes(passed=1)


def test_fails_listing_each_tracked_event_with_its_attributes(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with not_trigger_internal_events("open_web_ide", "click_save"):
        open_web_ide(user=BOB, label="menu")
        view()
"""
    )
    assert_fails_with(
        result,
        "AssertionError: expected internal event 'open_web_ide' not to be tracked, but it was tracked once:",
        "#1: open_web_ide(user=6, project=7, namespace=3, additional_properties={'label': 'menu'})",
    )


def test_without_names_passes_when_nothing_is_tracked(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with not_trigger_internal_events():
        pass
"""
    )
    result.assert_outcomes(passed=1)


def test_without_names_fails_on_any_event(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with not_trigger_internal_events():
        view()
        save(source="menu")
"""
    )
    assert_fails_with(
        result,
        "AssertionError: expected no internal events to be tracked, but 2 were:",
        "#1: view_page(user=None, project=None, namespace=None, additional_properties={})",
        "#2: click_save(user=5, project=None, namespace=None, additional_properties={'source': 'menu'})",
    )


def test_an_unknown_event_raises_at_once(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    not_trigger_internal_events("view_pages")
"""
    )
    assert_fails_with(result, "UnknownEventError: event 'view_pages': unknown event; did you mean 'view_page'?")
