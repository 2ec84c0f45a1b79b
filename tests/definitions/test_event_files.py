"""Rules for one event file (schemas/event.schema.json plus the loader's own checks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otel_internal_events.definitions import load_definitions

from .conftest import declare, line_of, only_problem, problems, write_event

GITLAB_EVENT_FIELDS: dict[str, Any] = {
    "category": "InternalEventTracking",
    "status": "active",
    "product_group": "pipeline_execution",
    "product_categories": ["continuous_integration"],
    "product_section": "ops",
    "product_stage": "verify",
    "milestone": "16.9",
    "introduced_by_url": "https://gitlab.com/gitlab-org/gitlab/-/merge_requests/142356",
    "distributions": ["ce", "ee"],
    "tiers": ["free", "premium", "ultimate"],
    "extra_properties": None,
    "iglu_schema_url": None,
    "label_description": "legacy",
    "property_description": "legacy",
    "value_description": "legacy",
    "value_type": "number",
    "extra_trackers": [],
    "classification": "data",
}


def test_gitlab_documented_event_fields_are_accepted(root: Path) -> None:
    write_event(root, "create_ci_internal_pipeline", **GITLAB_EVENT_FIELDS)

    event = load_definitions(root).event("create_ci_internal_pipeline")

    assert event.fields["product_group"] == "pipeline_execution"
    assert event.fields["tiers"] == ["free", "premium", "ultimate"]


def test_event_fields_are_read_only(root: Path) -> None:
    write_event(root, "open_page")

    event = load_definitions(root).event("open_page")

    with pytest.raises(TypeError):
        event.fields["action"] = "other"  # type: ignore[index]


def test_unknown_top_level_field_suggests_the_known_one(root: Path) -> None:
    path = write_event(root, "open_page", identifers=["user"])

    error = only_problem(root)

    assert (error.field, error.line) == ("identifers", line_of(path, "identifers:"))
    assert error.message == "unknown field; did you mean 'identifiers'?"


def test_unknown_field_without_a_close_match_has_no_hint(root: Path) -> None:
    write_event(root, "open_page", zzzz="x")

    assert only_problem(root).message == "unknown field"


def test_unknown_field_inside_a_property_is_reported_with_its_path(root: Path) -> None:
    path = write_event(root, "open_page", additional_properties={"label": {"descripton": "typo"}})

    found = {(e.field, e.line, e.message) for e in problems(root)}

    assert found == {
        (
            "additional_properties.label.descripton",
            line_of(path, "descripton:"),
            "unknown field; did you mean 'description'?",
        ),
        ("additional_properties.label.description", line_of(path, "label:"), "required field is missing"),
    }


@pytest.mark.parametrize("field", ["action", "description"])
def test_required_event_field_missing(root: Path, field: str) -> None:
    write_event(root, "open_page", drop=[field])

    error = only_problem(root)

    assert (error.field, error.line, error.message) == (field, 1, "required field is missing")


def test_empty_description_is_rejected(root: Path) -> None:
    write_event(root, "open_page", description="")

    error = only_problem(root)

    assert (error.field, error.message) == ("description", "'' should be non-empty")


@pytest.mark.parametrize("action", ["Open_Page", "open-page", "open page"])
def test_action_must_be_lower_snake_case(root: Path, action: str) -> None:
    write_event(root, action)

    error = only_problem(root)

    assert (error.field, error.message) == ("action", f"{action!r} does not match ^[a-z0-9_]+$")


def test_action_with_digits_and_underscores_is_accepted(root: Path) -> None:
    write_event(root, "i_quickactions_approve_2")

    assert list(load_definitions(root).events) == ["i_quickactions_approve_2"]


def test_file_name_must_match_the_action(root: Path) -> None:
    path = write_event(root, "open_page", file_name="view_page.yml")

    error = only_problem(root)

    assert (error.path, error.field, error.line) == (
        "defs/events/view_page.yml",
        "action",
        line_of(path, "action:"),
    )
    assert error.message == "'open_page' does not match the file name (expected open_page.yml)"


def test_internal_events_must_be_true(root: Path) -> None:
    write_event(root, "open_page", internal_events=False)

    error = only_problem(root)

    assert (error.field, error.message) == ("internal_events", "must be true, got False")


@pytest.mark.parametrize("identifiers", [["project", "user", "namespace"], ["feature_enabled_by_namespace_ids"], []])
def test_documented_identifiers_are_accepted(root: Path, identifiers: list[str]) -> None:
    write_event(root, "open_page", identifiers=identifiers)

    assert load_definitions(root).event("open_page").identifiers == frozenset(identifiers)


def test_identifiers_may_be_null(root: Path) -> None:
    write_event(root, "open_page", identifiers=None)

    assert load_definitions(root).event("open_page").identifiers == frozenset()


def test_unknown_identifier_is_rejected(root: Path) -> None:
    path = write_event(root, "open_page", identifiers=["user", "organization"])

    error = only_problem(root)

    assert (error.field, error.line) == ("identifiers[1]", line_of(path, "- organization"))
    assert error.message == "'organization' is not one of: project, user, namespace, feature_enabled_by_namespace_ids"


def test_repeated_identifier_is_rejected(root: Path) -> None:
    write_event(root, "open_page", identifiers=["user", "user"])

    error = only_problem(root)

    assert error.field == "identifiers"
    assert error.message == "['user', 'user'] has non-unique elements"


@pytest.mark.parametrize("kind", ["string", "number"])
def test_custom_property_type_may_be_string_or_number(root: Path, kind: str) -> None:
    write_event(root, "open_page", additional_properties=declare(size=kind))

    assert load_definitions(root).event("open_page").additional_properties["size"].type == kind


@pytest.mark.parametrize("kind", ["boolean", "integer", "object"])
def test_custom_property_type_other_than_string_or_number_is_rejected(root: Path, kind: str) -> None:
    path = write_event(root, "open_page", additional_properties=declare(size=kind))

    error = only_problem(root)

    assert (error.field, error.line) == ("additional_properties.size.type", line_of(path, f"type: {kind}"))
    assert error.message == f"{kind!r} is not one of: string, number"


def test_custom_property_name_must_be_lower_snake_case(root: Path) -> None:
    write_event(root, "open_page", additional_properties=declare("Size"))

    error = only_problem(root)

    assert (error.field, error.message) == (
        "additional_properties.Size",
        "invalid name 'Size': names must match ^[a-z0-9_]+$",
    )


def test_built_in_label_declared_as_number_is_rejected(root: Path) -> None:
    path = write_event(root, "open_page", additional_properties=declare(label="number"))

    error = only_problem(root)

    assert (error.field, error.line) == ("additional_properties.label.type", line_of(path, "type: number"))
    assert error.message == "the built-in 'label' is a string, not a number"


def test_built_in_value_declared_as_string_is_rejected(root: Path) -> None:
    write_event(root, "open_page", additional_properties=declare(value="string"))

    assert only_problem(root).message == "the built-in 'value' is a number, not a string"


def test_every_mismatched_built_in_is_reported(root: Path) -> None:
    write_event(root, "open_page", additional_properties=declare(label="number", value="string"))

    found = [(e.field, e.message) for e in problems(root)]

    assert found == [
        ("additional_properties.label.type", "the built-in 'label' is a string, not a number"),
        ("additional_properties.value.type", "the built-in 'value' is a number, not a string"),
    ]


def test_built_in_declared_with_its_own_type_is_accepted(root: Path) -> None:
    write_event(root, "open_page", additional_properties=declare(label="string", value="number"))

    props = load_definitions(root).event("open_page").additional_properties

    assert {name: (p.type, p.is_builtin) for name, p in props.items()} == {
        "label": ("string", True),
        "value": ("number", True),
    }


def test_additional_properties_view_is_read_only(root: Path) -> None:
    write_event(root, "open_page", additional_properties=declare("label"))

    props = load_definitions(root).event("open_page").additional_properties

    with pytest.raises(TypeError):
        props["property"] = props["label"]  # type: ignore[index]


def test_milestone_must_look_like_a_version(root: Path) -> None:
    write_event(root, "open_page", milestone="next")

    error = only_problem(root)

    assert (error.field, error.message) == ("milestone", "'next' does not match ^[0-9]+\\.[0-9]+$")


def test_unknown_tier_is_rejected(root: Path) -> None:
    write_event(root, "open_page", tiers=["free", "gold"])

    error = only_problem(root)

    assert (error.field, error.message) == ("tiers[1]", "'gold' is not one of: free, premium, ultimate")


def test_each_missing_required_event_field_is_reported_once(root: Path) -> None:
    write_event(root, "open_page", drop=["action", "description"])

    found = [(e.field, e.message) for e in problems(root)]

    assert found == [("action", "required field is missing"), ("description", "required field is missing")]
