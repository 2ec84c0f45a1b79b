"""trigger_internal_events around a block: event names, counts and attributes."""

from __future__ import annotations

from .conftest import InnerProject, assert_fails_with, failure_lines

HEADER = """
from app import ALICE, BOB, PROJECT, Namespace, Project, WebIde, open_web_ide, save, view
from otel_internal_events.testing import trigger_internal_events
"""


def test_passes_when_the_event_is_tracked_once(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with trigger_internal_events("open_web_ide"):
        open_web_ide()
"""
    )
    result.assert_outcomes(passed=1)


def test_fails_when_the_event_is_not_tracked_and_lists_what_was(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with trigger_internal_events("open_web_ide"):
        view()
        view()
"""
    )
    assert_fails_with(
        result,
        "AssertionError: expected internal event 'open_web_ide' to be tracked once, but it was not tracked",
        "tracked in the block: view_page (twice)",
    )


def test_counts_once_by_default_so_twice_fails(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with trigger_internal_events("open_web_ide"):
        open_web_ide()
        open_web_ide()
"""
    )
    assert_fails_with(
        result, "AssertionError: expected internal event 'open_web_ide' to be tracked once, but it was tracked twice"
    )


def test_events_tracked_before_the_block_do_not_count(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it(internal_events):
    open_web_ide()
    with trigger_internal_events("open_web_ide"):
        open_web_ide()
"""
    )
    result.assert_outcomes(passed=1)


def test_count_chains_pass_when_met(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_times():
    with trigger_internal_events("open_web_ide").times(3):
        for _ in range(3):
            open_web_ide()

def test_exactly_and_twice():
    with trigger_internal_events("open_web_ide").exactly(2) & trigger_internal_events("view_page").twice():
        open_web_ide(); open_web_ide(); view(); view()

def test_at_least():
    with trigger_internal_events("open_web_ide").at_least(2):
        open_web_ide(); open_web_ide(); open_web_ide()

def test_at_most():
    with trigger_internal_events("open_web_ide").at_most(2):
        pass

def test_range():
    with trigger_internal_events("open_web_ide").at_least(1).at_most(2):
        open_web_ide(); open_web_ide()

def test_never():
    with trigger_internal_events("open_web_ide").never():
        view()
"""
    )
    result.assert_outcomes(passed=6)


def test_count_chains_fail_with_the_count_expected_and_tracked(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_times():
    with trigger_internal_events("open_web_ide").times(3):
        open_web_ide(); open_web_ide()

def test_at_least():
    with trigger_internal_events("open_web_ide").at_least(2):
        open_web_ide()

def test_at_most():
    with trigger_internal_events("open_web_ide").at_most(1):
        open_web_ide(); open_web_ide()

def test_range():
    with trigger_internal_events("open_web_ide").at_most(3).at_least(2):
        open_web_ide(); open_web_ide(); open_web_ide(); open_web_ide()

def test_never():
    with trigger_internal_events("open_web_ide").never():
        open_web_ide()
"""
    )
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines(
        [
            *failure_lines(
                "AssertionError: expected internal event 'open_web_ide' to be tracked exactly 3 times, "
                "but it was tracked twice"
            ),
            *failure_lines(
                "AssertionError: expected internal event 'open_web_ide' to be tracked at least twice, "
                "but it was tracked once"
            ),
            *failure_lines(
                "AssertionError: expected internal event 'open_web_ide' to be tracked at most once, "
                "but it was tracked twice"
            ),
            *failure_lines(
                "AssertionError: expected internal event 'open_web_ide' to be tracked between 2 and 3 times, "
                "but it was tracked 4 times"
            ),
            *failure_lines(
                "AssertionError: expected internal event 'open_web_ide' not to be tracked, but it was tracked once"
            ),
        ]
    )


def test_several_names_are_each_expected_and_lists_are_flattened(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_passes():
    with trigger_internal_events("open_web_ide", ["view_page", "click_save"]):
        open_web_ide(); view(); save()

def test_fails_for_the_missing_one():
    with trigger_internal_events("open_web_ide", "view_page"):
        open_web_ide()
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            "AssertionError: expected internal event 'view_page' to be tracked once, but it was not tracked",
            "tracked in the block: open_web_ide (once)",
        )
    )


def test_with_passes_on_the_same_attributes(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_objects():
    with trigger_internal_events("open_web_ide").with_(
        user=ALICE, project=PROJECT, additional_properties={"label": "menu", "language": "python"}
    ):
        open_web_ide(label="menu", language="python")

def test_ids_and_explicit_namespace():
    with trigger_internal_events("open_web_ide").with_(user=5, project=7, namespace=3):
        open_web_ide()

def test_several_with_calls_add_up():
    with trigger_internal_events("open_web_ide").with_(user=ALICE).with_(project=PROJECT):
        open_web_ide()

def test_counts_only_the_matching_events():
    with trigger_internal_events("open_web_ide").with_(user=BOB, project=PROJECT).once():
        open_web_ide(user=ALICE)
        open_web_ide(user=BOB)
"""
    )
    result.assert_outcomes(passed=4)


def test_with_fails_showing_which_attribute_differs(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT):
        open_web_ide(user=BOB)
"""
    )
    assert_fails_with(
        result,
        "AssertionError: expected internal event 'open_web_ide' to be tracked once with user=5, project=7, "
        "namespace=3, additional_properties={}, but it was tracked 0 times with these attributes",
        "'open_web_ide' tracked with other attributes once:",
        "#1: user: expected 5, tracked 6",
    )


def test_with_compares_additional_properties_as_a_whole(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with trigger_internal_events("open_web_ide").with_(
        user=ALICE, project=PROJECT, additional_properties={"label": "menu", "value": 2}
    ):
        open_web_ide(label="toolbar", language="python")
"""
    )
    assert_fails_with(
        result,
        "#1: additional_properties['label']: expected 'menu', tracked 'toolbar'; "
        "additional_properties['language']: not expected, tracked 'python'; "
        "additional_properties['value']: expected 2, not tracked",
    )


def test_with_and_a_count_reports_the_matching_count(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT):
        open_web_ide(); open_web_ide()
"""
    )
    assert_fails_with(
        result,
        "AssertionError: expected internal event 'open_web_ide' to be tracked once with user=5, project=7, "
        "namespace=3, additional_properties={}, but it was tracked twice with these attributes",
    )
    result.stdout.no_fnmatch_line("*tracked with other attributes*")


def test_with_checks_feature_enabled_by_namespace_ids(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
import otel_internal_events as oie

def test_passes():
    with trigger_internal_events("view_page").with_(feature_enabled_by_namespace_ids=[1, 2]):
        oie.track_internal_event("view_page", feature_enabled_by_namespace_ids=[1, 2])

def test_fails():
    with trigger_internal_events("view_page").with_():
        oie.track_internal_event("view_page", feature_enabled_by_namespace_ids=[1, 2])
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(failure_lines("#1: feature_enabled_by_namespace_ids: expected (), tracked (1, 2)"))


def test_with_refuses_a_wrong_kind_of_value_at_once(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
import pytest

def test_it():
    with pytest.raises(TypeError, match="additional_properties must be a mapping"):
        trigger_internal_events("open_web_ide").with_(additional_properties=["label"])
"""
    )
    result.assert_outcomes(passed=1)


def test_with_expects_absent_identifiers_and_the_projects_namespace(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_project_not_given():
    with trigger_internal_events("open_web_ide").with_(user=ALICE):
        open_web_ide()

def test_namespace_of_another_project():
    with trigger_internal_events("open_web_ide").with_(user=ALICE, project=Project(7, Namespace(4))):
        open_web_ide()
"""
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        failure_lines("#1: project: expected None, tracked 7; namespace: expected None, tracked 3")
    )
    result.stdout.fnmatch_lines(failure_lines("#1: namespace: expected 4, tracked 3"))


def test_with_checks_the_category_only_when_given(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_not_given_is_not_checked():
    with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT):
        WebIde().open()

def test_a_class_means_its_name():
    with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT, category=WebIde):
        WebIde().open()

def test_none_means_no_category():
    with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT, category=None):
        open_web_ide()

def test_fails_on_another_category():
    with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT, category="Billing"):
        WebIde().open()
"""
    )
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(failure_lines("#1: category: expected 'Billing', tracked 'WebIde'"))


def test_with_never_fails_on_an_event_with_those_attributes(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_passes_on_other_attributes():
    with trigger_internal_events("open_web_ide").with_(user=BOB, project=PROJECT).never():
        open_web_ide(user=ALICE)

def test_fails_on_those_attributes():
    with trigger_internal_events("open_web_ide").with_(user=BOB, project=PROJECT).never():
        open_web_ide(user=BOB)
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            "AssertionError: expected internal event 'open_web_ide' not to be tracked with user=6, project=7, "
            "namespace=3, additional_properties={}, but it was tracked once with these attributes"
        )
    )


def test_builders_return_new_expectations(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    base = trigger_internal_events("open_web_ide")
    twice = base.twice()
    with base:
        open_web_ide()
    with twice:
        open_web_ide(); open_web_ide()
    assert repr(twice) == "trigger_internal_events('open_web_ide').times(2)"
"""
    )
    result.assert_outcomes(passed=1)


def test_an_unknown_event_raises_at_once_with_a_hint(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    trigger_internal_events("open_web_id")
"""
    )
    assert_fails_with(
        result,
        "otel_internal_events.errors.UnknownEventError: event 'open_web_id': unknown event; "
        "did you mean 'open_web_ide'?",
    )


def test_no_event_name_is_an_error(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_it():
    trigger_internal_events()
"""
    )
    assert_fails_with(result, "ValueError: trigger_internal_events() needs at least one event name")


def test_the_call_form_returns_the_result_and_checks(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
def test_passes():
    assert trigger_internal_events("open_web_ide").of(open_web_ide, user=BOB) == "opened"

def test_fails():
    trigger_internal_events("open_web_ide").of(view)
"""
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        failure_lines(
            "AssertionError: expected internal event 'open_web_ide' to be tracked once, but it was not tracked"
        )
    )


def test_nothing_is_checked_when_the_block_raises(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
import pytest

def test_it():
    with pytest.raises(KeyError):
        with trigger_internal_events("open_web_ide"):
            raise KeyError("boom")
"""
    )
    result.assert_outcomes(passed=1)


def test_events_tracked_from_another_thread_count(project: InnerProject) -> None:
    result = project.run(
        HEADER
        + """
import threading

def test_it():
    with trigger_internal_events("open_web_ide"):
        worker = threading.Thread(target=open_web_ide)
        worker.start()
        worker.join(10)
"""
    )
    result.assert_outcomes(passed=1)
