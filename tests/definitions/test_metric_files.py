"""Rules for one metric file (schemas/metric.schema.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otel_internal_events.definitions import load_definitions

from .conftest import line_of, only_problem, problems, write_event, write_metric

GITLAB_METRIC_FIELDS: dict[str, Any] = {
    "product_group": "authentication",
    "product_categories": ["system_access"],
    "product_section": "sec",
    "product_stage": "govern",
    "performance_indicator_type": ["gmau"],
    "milestone": "<13.9",
    "introduced_by_url": "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/217754",
    "data_category": "optional",
    "tiers": ["free", "premium", "ultimate"],
    "distribution": ["ce", "ee"],
    "name": "count_total_open_page",
    "data_availability": "available",
    "value_json_schema": "config/metrics/objects_schemas/x.json",
    "skip_validation": False,
    "options": None,
}


@pytest.fixture
def event(root: Path) -> str:
    write_event(root, "open_page")
    return "open_page"


def test_gitlab_documented_metric_fields_are_accepted(root: Path, event: str) -> None:
    write_metric(root, "counts.count_total_open_page", [{"name": event}], **GITLAB_METRIC_FIELDS)

    metric = load_definitions(root).metric("counts.count_total_open_page")

    assert metric.fields["data_category"] == "optional"
    assert metric.fields["performance_indicator_type"] == ["gmau"]


def test_unknown_top_level_field_suggests_the_known_one(root: Path, event: str) -> None:
    path = write_metric(root, "counts.c", [{"name": event}], data_categroy="optional")

    error = only_problem(root)

    assert (error.path, error.field) == ("defs/metrics/counts_7d/c.yml", "data_categroy")
    assert error.line == line_of(path, "data_categroy:")
    assert error.message == "unknown field; did you mean 'data_category'?"


def test_unknown_field_inside_an_event_rule_is_reported_with_its_path(root: Path, event: str) -> None:
    path = write_metric(root, "counts.c", [{"name": event, "filters": {"label": "x"}}])

    error = only_problem(root)

    assert (error.field, error.line) == ("events[0].filters", line_of(path, "filters:"))
    assert error.message == "unknown field; did you mean 'filter'?"


@pytest.mark.parametrize("field", ["key_path", "description", "value_type", "status", "time_frame", "data_source"])
def test_required_metric_field_missing(root: Path, event: str, field: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], file_name="c.yml", drop=[field])

    error = only_problem(root)

    assert (error.field, error.line, error.message) == (field, 1, "required field is missing")


def test_internal_events_metric_needs_events(root: Path) -> None:
    write_metric(root, "counts.c", [], drop=["events"])

    error = only_problem(root)

    assert (error.field, error.message) == ("events", "required field is missing")


def test_event_rule_needs_a_name(root: Path, event: str) -> None:
    path = write_metric(root, "counts.c", [{"unique": "user.id"}])

    error = only_problem(root)

    assert (error.field, error.line) == ("events[0].name", line_of(path, "- unique:"))
    assert error.message == "required field is missing"


def test_instrumentation_class_is_not_allowed_for_internal_events(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], instrumentation_class="TotalCountMetric")

    error = only_problem(root)

    assert (error.field, error.message) == (
        "instrumentation_class",
        "not allowed with data_source: internal_events",
    )


def test_other_data_sources_are_loaded_but_not_computed(root: Path, event: str) -> None:
    write_metric(
        root,
        "counts.c",
        [],
        drop=["events"],
        data_source="database",
        time_frame="none",
        instrumentation_class="CountUsersMetric",
    )

    registry = load_definitions(root)

    assert registry.metric("counts.c").is_computed is False
    assert registry.metrics_for(event) == ()


def test_unknown_unique_value_is_rejected(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event, "unique": "user_id"}])

    error = only_problem(root)

    assert (error.field, error.message) == (
        "events[0].unique",
        "'user_id' is not one of: user.id, project.id, namespace.id, label, property, value",
    )


def test_unknown_operator_is_rejected(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event, "operator": "avg(value)"}])

    error = only_problem(root)

    assert (error.field, error.message) == ("events[0].operator", "'avg(value)' is not one of: sum(value)")


def test_unknown_scalar_time_frame_is_rejected(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], time_frame="1y")

    error = only_problem(root)

    assert (error.field, error.message) == ("time_frame", "'1y' is not one of: 7d, 28d, all, none")


def test_unknown_time_frame_in_a_list_names_the_item(root: Path, event: str) -> None:
    path = write_metric(root, "counts.c", [{"name": event}], time_frame=["7d", "1y"])

    error = only_problem(root)

    assert (error.field, error.line) == ("time_frame[1]", line_of(path, "- 1y"))
    assert error.message == "'1y' is not one of: 7d, 28d, all"


def test_none_is_not_allowed_in_a_time_frame_list(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], time_frame=["7d", "none"])

    error = only_problem(root)

    assert (error.field, error.message) == ("time_frame[1]", "'none' is not one of: 7d, 28d, all")


def test_repeated_time_frame_is_rejected(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], time_frame=["7d", "7d"])

    error = only_problem(root)

    assert (error.field, error.message) == ("time_frame", "['7d', '7d'] has non-unique elements")


def test_unknown_status_is_rejected(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], status="deprecated")

    error = only_problem(root)

    assert (error.field, error.message) == (
        "status",
        "'deprecated' is not one of: active, removed, broken, data_available",
    )


def test_broken_metric_needs_a_repair_issue_url(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], status="broken")

    error = only_problem(root)

    assert (error.field, error.line, error.message) == ("repair_issue_url", 1, "required field is missing")


def test_broken_metric_with_a_repair_issue_is_still_counted(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], status="broken", repair_issue_url="https://x/-/issues/1")

    registry = load_definitions(root)

    assert registry.metric("counts.c").is_computed is True
    assert registry.metrics_for(event) == (registry.metric("counts.c"),)


def test_removed_metric_needs_removed_by_url_and_milestone_removed(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], status="removed")

    found = [(e.field, e.message) for e in problems(root)]

    assert sorted(found) == [
        ("milestone_removed", "required field is missing"),
        ("removed_by_url", "required field is missing"),
    ]


def test_key_path_must_be_dotted_words(root: Path, event: str) -> None:
    write_metric(root, "counts..c", [{"name": event}], file_name="c.yml")

    error = only_problem(root)

    assert (error.field, error.message) == (
        "key_path",
        "'counts..c' does not match ^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*$",
    )


def test_each_missing_required_field_is_reported_once(root: Path, event: str) -> None:
    write_metric(root, "counts.c", [{"name": event}], file_name="c.yml", drop=["description", "value_type"])

    found = [(e.field, e.message) for e in problems(root)]

    assert found == [
        ("description", "required field is missing"),
        ("value_type", "required field is missing"),
    ]
