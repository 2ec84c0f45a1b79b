"""trigger_internal_events(...).in_html and not_trigger_internal_events().in_html."""

from __future__ import annotations

from .conftest import InnerProject, assert_fails_with, failure_lines

HEADER = '''
import xml.etree.ElementTree as ET
from otel_internal_events.testing import not_trigger_internal_events, trigger_internal_events

PAGE = """
<main data-event-tracking-load="true" data-event-tracking="view_page">
  <button class="btn" data-event-tracking="click_save" data-event-label="toolbar"
          data-event-property="doc" data-event-value="3"
          data-event-additional='{"source": "menu"}'>Save</button>
  <a href="/help">Help</a>
</main>
"""
'''


def test_passes_on_an_element_with_the_expected_attributes(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
class Markup:
    def __html__(self):
        return PAGE

def test_click():
    trigger_internal_events("click_save").with_(
        additional_properties={"label": "toolbar", "property": "doc", "value": 3, "source": "menu"}
    ).in_html(PAGE)

def test_explicit_on_click_and_other_inputs():
    expectation = trigger_internal_events("click_save").on_click().with_(
        additional_properties={"label": "toolbar", "property": "doc", "value": 3, "source": "menu"}
    )
    expectation.in_html(Markup())
    expectation.in_html(PAGE.encode())

def test_load():
    trigger_internal_events("view_page").on_load().in_html(PAGE)

def test_element_tree():
    trigger_internal_events("view_page").in_html(ET.fromstring('<a data-event-tracking="view_page">x</a>'))
"""
    )
    result.assert_outcomes(passed=4)


def test_fails_showing_the_attribute_that_differs(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_label():
    trigger_internal_events("click_save").with_(
        additional_properties={"label": "menu", "property": "doc", "value": 3, "source": "menu"}
    ).in_html(PAGE)
"""
    )
    assert_fails_with(
        result,
        'AssertionError: expected an element with data-event-tracking="click_save" tracking on click '
        "(no data-event-tracking-load, data-event-label='menu', data-event-property='doc', "
        'data-event-value=\'3\', data-event-additional={"source": "menu"}), but no element matches:',
        '<button class="btn" data-event-tracking="click_save" data-event-label="toolbar" '
        'data-event-property="doc" data-event-value="3" data-event-additional=\'{"source": "menu"}\'> (line 3): '
        "data-event-label: expected 'menu', found 'toolbar'",
    )


def test_properties_not_given_must_be_absent(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    trigger_internal_events("click_save").in_html(PAGE)
"""
    )
    assert_fails_with(
        result,
        "(line 3): data-event-label: expected absent, found 'toolbar'; "
        "data-event-property: expected absent, found 'doc'; data-event-value: expected absent, found '3'; "
        'data-event-additional: expected absent or {}, found {"source": "menu"}',
    )


def test_additional_properties_are_compared_as_json(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_passes_whatever_the_spacing():
    html = '<b data-event-tracking="click_save" data-event-additional=\\'{ "source" :"menu" }\\'></b>'
    trigger_internal_events("click_save").with_(additional_properties={"source": "menu"}).in_html(html)

def test_fails_on_another_value():
    html = '<b data-event-tracking="click_save" data-event-additional=\\'{"source": "shortcut"}\\'></b>'
    trigger_internal_events("click_save").with_(additional_properties={"source": "menu"}).in_html(html)
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines('data-event-additional: expected {"source": "menu"}, found {"source": "shortcut"}')
    )


def test_on_load_and_on_click_are_told_apart(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_load_expected():
    trigger_internal_events("click_save").on_load().with_(
        additional_properties={"label": "toolbar", "property": "doc", "value": 3, "source": "menu"}
    ).in_html(PAGE)

def test_click_expected():
    trigger_internal_events("view_page").in_html(PAGE)
"""
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(failure_lines("data-event-tracking-load: expected 'true', absent"))
    result.stdout.fnmatch_lines(failure_lines("data-event-tracking-load: expected absent, found 'true'"))


def test_fails_when_no_element_tracks_the_event(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_other_elements():
    trigger_internal_events("open_web_ide").in_html(PAGE)

def test_no_tracking_at_all():
    trigger_internal_events("open_web_ide").in_html("<p>hello</p>")
"""
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            *failure_lines("but there is none; elements with tracking attributes:"),
            *failure_lines('<main data-event-tracking-load="true" data-event-tracking="view_page"> (line 2)'),
        ]
    )
    result.stdout.fnmatch_lines(failure_lines("but no element has tracking attributes"))


def test_not_trigger_in_html(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_passes_without_tracking_attributes():
    not_trigger_internal_events().in_html('<a href="/help">Help</a>')

def test_passes_without_the_named_event():
    not_trigger_internal_events("open_web_ide").in_html(PAGE)

def test_fails_on_any_tracking_attribute():
    not_trigger_internal_events().in_html('<p><span data-event-label="x">x</span></p>')

def test_fails_on_the_named_event():
    not_trigger_internal_events("click_save").in_html(PAGE)
"""
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            *failure_lines("AssertionError: expected no element with tracking attributes, but found 1:"),
            *failure_lines('<span data-event-label="x"> (line 1)'),
        ]
    )
    result.stdout.fnmatch_lines(
        failure_lines("AssertionError: expected no element tracking 'click_save', but found 1:")
    )


def test_html_mode_refuses_what_html_cannot_carry(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
import pytest

def test_counts():
    with pytest.raises(ValueError, match="takes no count"):
        trigger_internal_events("click_save").twice().in_html(PAGE)

def test_identifiers():
    with pytest.raises(ValueError, match="additional properties only, not user"):
        trigger_internal_events("click_save").with_(user=1).in_html(PAGE)

def test_several_events():
    with pytest.raises(ValueError, match="one event"):
        trigger_internal_events("click_save", "view_page").in_html(PAGE)

def test_on_load_around_code():
    with pytest.raises(ValueError, match="apply to in_html"):
        with trigger_internal_events("view_page").on_load():
            pass

def test_not_html():
    with pytest.raises(TypeError, match="expected HTML"):
        trigger_internal_events("view_page").in_html(42)
"""
    )
    result.assert_outcomes(passed=5)


def test_html_checks_start_no_runtime(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
import otel_internal_events as oie

def test_it():
    trigger_internal_events("view_page").on_load().in_html(PAGE)
    assert oie.configured() is None
"""
    )
    result.assert_outcomes(passed=1)
