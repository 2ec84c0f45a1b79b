"""Legacy (Snowplow-only) event files, keyed by category and action as in GitLab; and
schema problems reported together with cross-file ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from otel_internal_events.definitions import load_definitions
from otel_internal_events.errors import UnknownEventError

from .conftest import problems, write_event, write_metric


def write_legacy(root: Path, file_name: str, category: str, action: str) -> Path:
    return write_event(root, action, file_name=file_name, category=category, drop=["internal_events"])


def test_legacy_files_sharing_an_action_load_keyed_by_category(root: Path) -> None:
    write_legacy(root, "1647273493_projectsclustersindex_click_button.yml", "default", "click_button")
    write_legacy(root, "1651580551_groups_show_click_button.yml", "groups:show", "click_button")

    registry = load_definitions(root)

    assert set(registry.legacy_events) == {("default", "click_button"), ("groups:show", "click_button")}
    assert registry.events == {}


def test_legacy_files_with_the_same_category_and_action_are_duplicates(root: Path) -> None:
    write_legacy(root, "1_a_click.yml", "a", "click")
    write_legacy(root, "2_a_click.yml", "a", "click")

    (error,) = problems(root)

    assert (error.path, error.field) == ("defs/events/2_a_click.yml", "action")
    assert error.message == "duplicate legacy event 'click' in category 'a' (also in defs/events/1_a_click.yml)"


def test_an_event_without_internal_events_true_is_not_trackable(root: Path) -> None:
    write_legacy(root, "open_page.yml", "pages", "open_page")

    registry = load_definitions(root)

    assert not registry.is_trackable("open_page")
    with pytest.raises(UnknownEventError, match="does not set internal_events: true"):
        registry.event("open_page")


def test_a_metric_naming_a_legacy_event_is_a_problem(root: Path) -> None:
    write_legacy(root, "open_page.yml", "pages", "open_page")
    write_metric(root, "counts.c", [{"name": "open_page"}])

    (error,) = problems(root)

    assert error.field == "events[0].name"
    assert error.message == (
        "'open_page' is not an internal event: defs/events/open_page.yml does not set internal_events: true, "
        "so it is never counted"
    )


def test_a_schema_error_does_not_hide_cross_file_problems(root: Path) -> None:
    write_event(root, "open_page", identifers=["user"])
    write_event(root, "open_page", file_name="open_page.yaml")
    write_metric(root, "counts.c", [{"name": "open_pages"}], tier=["gold"])

    found = {(e.path, e.field, e.message) for e in problems(root)}

    assert found == {
        ("defs/events/open_page.yml", "identifers", "unknown field; did you mean 'identifiers'?"),
        ("defs/events/open_page.yml", "action", "duplicate event 'open_page' (also in defs/events/open_page.yaml)"),
        ("defs/metrics/counts_7d/c.yml", "tier[0]", "'gold' is not one of: free, premium, ultimate"),
        ("defs/metrics/counts_7d/c.yml", "events[0].name", "unknown event 'open_pages'; did you mean 'open_page'?"),
    }


def test_older_metric_fields_are_accepted(root: Path) -> None:
    write_event(root, "open_page", tier=["free"], product_category="editor")
    write_metric(
        root, "counts.c", [{"name": "open_page"}], tier=["free"], product_category="editor", status="data_available"
    )

    metric = load_definitions(root).metric("counts.c")

    assert metric.is_available and metric.is_computed
