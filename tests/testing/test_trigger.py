"""trigger_internal_events around a block: event names, counts and attributes.

Each case is an inner test module, run by pytest in this process, and what its run must show:
the outcomes, the failure messages (each matched line by line, in order) and the lines it must
not print.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from .conftest import InnerProject, failure_lines

HEADER = """
from app import ALICE, BOB, PROJECT, Namespace, Project, WebIde, open_web_ide, save, view
from otel_internal_events.testing import trigger_internal_events
"""


@dataclass(frozen=True)
class Inner:
    """An inner test module and what its run must show."""

    code: str
    outcomes: Mapping[str, int]
    #: Failure messages, each as its ``E`` lines in order.
    failures: tuple[tuple[str, ...], ...] = ()
    #: fnmatch patterns no output line may match.
    absent: tuple[str, ...] = ()


def failing(code: str, *lines: str) -> Inner:
    """One test, which fails with a message of these lines."""
    return Inner(code, {"failed": 1}, (lines,))


PASSING = {
    "passes_when_the_event_is_tracked_once": Inner(
        """
        def test_it():
            with trigger_internal_events("open_web_ide"):
                open_web_ide()
        """,
        {"passed": 1},
    ),
    "events_tracked_before_the_block_do_not_count": Inner(
        """
        def test_it(internal_events):
            open_web_ide()
            with trigger_internal_events("open_web_ide"):
                open_web_ide()
        """,
        {"passed": 1},
    ),
    "count_chains_pass_when_met": Inner(
        """
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
        """,
        {"passed": 6},
    ),
    "with_passes_on_the_same_attributes": Inner(
        """
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
        """,
        {"passed": 3},
    ),
    "with_refuses_a_wrong_kind_of_value_at_once": Inner(
        """
        import pytest

        def test_it():
            with pytest.raises(TypeError, match="additional_properties must be a mapping"):
                trigger_internal_events("open_web_ide").with_(additional_properties=["label"])
        """,
        {"passed": 1},
    ),
    "builders_return_new_expectations": Inner(
        """
        def test_it():
            base = trigger_internal_events("open_web_ide")
            twice = base.twice()
            with base:
                open_web_ide()
            with twice:
                open_web_ide(); open_web_ide()
            assert repr(twice) == "trigger_internal_events('open_web_ide').times(2)"
        """,
        {"passed": 1},
    ),
    "nothing_is_checked_when_the_block_raises": Inner(
        """
        import pytest

        def test_it():
            with pytest.raises(KeyError):
                with trigger_internal_events("open_web_ide"):
                    raise KeyError("boom")
        """,
        {"passed": 1},
    ),
    "events_tracked_from_another_thread_count": Inner(
        """
        import threading

        def test_it():
            with trigger_internal_events("open_web_ide"):
                worker = threading.Thread(target=open_web_ide)
                worker.start()
                worker.join(10)
        """,
        {"passed": 1},
    ),
}

NOT_TRACKED = "AssertionError: expected internal event 'open_web_ide' to be tracked once, but it was not tracked"
WITH_ALICE = "user=5, project=7, namespace=3, additional_properties={}, category='InternalEventTracking'"

FAILING = {
    "fails_when_the_event_is_not_tracked_and_lists_what_was": failing(
        """
        def test_it():
            with trigger_internal_events("open_web_ide"):
                view()
                view()
        """,
        NOT_TRACKED,
        "tracked in the block: view_page (twice)",
    ),
    "counts_once_by_default_so_twice_fails": failing(
        """
        def test_it():
            with trigger_internal_events("open_web_ide"):
                open_web_ide()
                open_web_ide()
        """,
        "AssertionError: expected internal event 'open_web_ide' to be tracked once, but it was tracked twice",
    ),
    "count_chains_fail_with_the_count_expected_and_tracked": Inner(
        """
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
        """,
        {"failed": 5},
        (
            tuple(
                f"AssertionError: expected internal event 'open_web_ide' {wanted}, but it was tracked {tracked}"
                for wanted, tracked in [
                    ("to be tracked exactly 3 times", "twice"),
                    ("to be tracked at least twice", "once"),
                    ("to be tracked at most once", "twice"),
                    ("to be tracked between 2 and 3 times", "4 times"),
                    ("not to be tracked", "once"),
                ]
            ),
        ),
    ),
    "several_names_are_each_expected_and_lists_are_flattened": Inner(
        """
        def test_passes():
            with trigger_internal_events("open_web_ide", ["view_page", "click_save"]):
                open_web_ide(); view(); save()

        def test_fails_for_the_missing_one():
            with trigger_internal_events("open_web_ide", "view_page"):
                open_web_ide()
        """,
        {"passed": 1, "failed": 1},
        (
            (
                "AssertionError: expected internal event 'view_page' to be tracked once, but it was not tracked",
                "tracked in the block: open_web_ide (once)",
            ),
        ),
    ),
    "with_fails_showing_which_attribute_differs": failing(
        """
        def test_it():
            with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT):
                open_web_ide(user=BOB)
        """,
        f"AssertionError: expected internal event 'open_web_ide' to be tracked once with {WITH_ALICE}, "
        "but it was tracked once, 0 times with the expected attributes",
        "'open_web_ide' tracked with other attributes once:",
        "#1: user: expected 5, tracked 6",
    ),
    "with_compares_the_given_base_properties_and_all_custom_ones": failing(
        """
        def test_it():
            with trigger_internal_events("open_web_ide").with_(
                user=ALICE, project=PROJECT, additional_properties={"label": "menu", "value": 2}
            ):
                open_web_ide(label="toolbar", language="python")
        """,
        "#1: additional_properties['label']: expected 'menu', tracked 'toolbar'; "
        "additional_properties['language']: not expected, tracked 'python'; "
        "additional_properties['value']: expected 2, not tracked",
    ),
    "with_and_a_count_reports_the_matching_count": Inner(
        """
        def test_it():
            with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT):
                open_web_ide(); open_web_ide()
        """,
        {"failed": 1},
        (
            (
                f"AssertionError: expected internal event 'open_web_ide' to be tracked once with {WITH_ALICE}, "
                "but it was tracked twice",
            ),
        ),
        absent=("*tracked with other attributes*",),
    ),
    "with_checks_feature_enabled_by_namespace_ids": Inner(
        """
        import otel_internal_events as oie

        def test_passes():
            with trigger_internal_events("view_page").with_(feature_enabled_by_namespace_ids=[1, 2]):
                oie.track_internal_event("view_page", feature_enabled_by_namespace_ids=[1, 2])

        def test_fails():
            with trigger_internal_events("view_page").with_():
                oie.track_internal_event("view_page", feature_enabled_by_namespace_ids=[1, 2])
        """,
        {"passed": 1, "failed": 1},
        (("#1: feature_enabled_by_namespace_ids: expected (), tracked (1, 2)",),),
    ),
    "with_expects_absent_identifiers_and_the_projects_namespace": Inner(
        """
        def test_project_not_given():
            with trigger_internal_events("open_web_ide").with_(user=ALICE):
                open_web_ide()

        def test_namespace_of_another_project():
            with trigger_internal_events("open_web_ide").with_(user=ALICE, project=Project(7, Namespace(4))):
                open_web_ide()
        """,
        {"failed": 2},
        (
            ("#1: project: expected None, tracked 7; namespace: expected None, tracked 3",),
            ("#1: namespace: expected 4, tracked 3",),
        ),
    ),
    "with_checks_the_category_given_else_the_default": Inner(
        """
        def test_not_given_means_the_default():
            with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT):
                WebIde().open()

        def test_a_class_means_its_name():
            with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT, category=WebIde):
                WebIde().open()

        def test_none_means_the_default():
            with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT, category=None):
                open_web_ide()

        def test_fails_on_another_category():
            with trigger_internal_events("open_web_ide").with_(user=ALICE, project=PROJECT, category="Billing"):
                WebIde().open()
        """,
        {"passed": 2, "failed": 2},
        (
            ("#1: category: expected 'InternalEventTracking', tracked 'WebIde'",),
            ("#1: category: expected 'Billing', tracked 'WebIde'",),
        ),
    ),
    "with_never_fails_on_any_call_of_the_event": Inner(
        """
        def test_passes_on_another_event():
            with trigger_internal_events("open_web_ide").with_(user=BOB, project=PROJECT).never():
                view()

        def test_fails_on_those_attributes():
            with trigger_internal_events("open_web_ide").with_(user=BOB, project=PROJECT).never():
                open_web_ide(user=BOB)

        def test_fails_on_other_attributes_too():
            with trigger_internal_events("open_web_ide").with_(user=BOB, project=PROJECT).never():
                open_web_ide(user=ALICE)
        """,
        {"passed": 1, "failed": 2},
        (
            (
                "AssertionError: expected internal event 'open_web_ide' not to be tracked with user=6, project=7, "
                "namespace=3, additional_properties={}, category='InternalEventTracking', but it was tracked once",
            ),
            (
                "AssertionError: expected internal event 'open_web_ide' not to be tracked with user=6, project=7, "
                "namespace=3, additional_properties={}, category='InternalEventTracking', but it was tracked once, "
                "0 times with the expected attributes",
                "#1: user: expected 6, tracked 5",
            ),
        ),
    ),
    "an_unknown_event_raises_at_once_with_a_hint": failing(
        """
        def test_it():
            trigger_internal_events("open_web_id")
        """,
        "otel_internal_events.errors.UnknownEventError: event 'open_web_id': unknown event; "
        "did you mean 'open_web_ide'?",
    ),
    "no_event_name_is_an_error": failing(
        """
        def test_it():
            trigger_internal_events()
        """,
        "ValueError: trigger_internal_events() needs at least one event name",
    ),
    "the_call_form_returns_the_result_and_checks": Inner(
        """
        def test_passes():
            assert trigger_internal_events("open_web_ide").of(open_web_ide, user=BOB) == "opened"

        def test_fails():
            trigger_internal_events("open_web_ide").of(view)
        """,
        {"passed": 1, "failed": 1},
        ((NOT_TRACKED,),),
    ),
}


def check(project: InnerProject, inner: Inner) -> None:
    """Run ``inner``; check the outcomes and the lines it must print, or must not."""
    __tracebackhide__ = True
    result = project.run(HEADER + textwrap.dedent(inner.code))
    result.assert_outcomes(**inner.outcomes)
    for lines in inner.failures:
        result.stdout.fnmatch_lines(failure_lines(*lines))
    for pattern in inner.absent:
        result.stdout.no_fnmatch_line(pattern)


@pytest.mark.parametrize("inner", PASSING.values(), ids=PASSING.keys())
def test_passing_blocks(project: InnerProject, inner: Inner) -> None:
    check(project, inner)


@pytest.mark.parametrize("inner", FAILING.values(), ids=FAILING.keys())
def test_failing_blocks_say_why(project: InnerProject, inner: Inner) -> None:
    check(project, inner)
