"""load_definitions: which files are read, how metrics expand, how problems are reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otel_internal_events.definitions import EventRule, load_definitions
from otel_internal_events.errors import DefinitionError, DefinitionsInvalidError

from .conftest import declare, line_of, only_problem, problems, write_event, write_metric, write_text

# --- which files a tree holds -------------------------------------------------------------------


def test_loads_events_by_name_and_metrics_by_key_path(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.count_total_open_page_weekly", [{"name": "open_page"}])

    registry = load_definitions(root)

    assert list(registry.events) == ["open_page"]
    assert list(registry.metrics) == ["counts.count_total_open_page_weekly"]


def test_metrics_are_found_in_nested_folders(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.a", [{"name": "open_page"}], folder="deep/er")

    assert load_definitions(root).metric("counts.a").path == "defs/metrics/deep/er/a.yml"


def test_files_with_the_yaml_suffix_are_read(root: Path) -> None:
    write_event(root, "open_page", file_name="open_page.yaml")
    write_metric(root, "counts.b", [{"name": "open_page"}], file_name="b.yaml")

    assert (list(load_definitions(root).events), list(load_definitions(root).metrics)) == (
        ["open_page"],
        ["counts.b"],
    )


def test_files_without_a_yaml_suffix_are_ignored(root: Path) -> None:
    write_event(root, "open_page")
    write_text(root / "events" / "README.md", "not: a definition\n")
    write_text(root / "metrics" / "notes.txt", "- nor this\n")

    registry = load_definitions(root)

    assert list(registry.events) == ["open_page"]
    assert dict(registry.metrics) == {}


def test_several_roots_load_into_one_registry(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "more"
    write_event(root, "open_page")
    write_event(other, "close_page")

    assert sorted(load_definitions(root, other).events) == ["close_page", "open_page"]


def test_no_root_given_is_an_error() -> None:
    with pytest.raises(DefinitionsInvalidError) as caught:
        load_definitions()

    assert [(e.path, e.message) for e in caught.value.errors] == [("<none>", "no definition folder given")]


def test_missing_root_is_an_error(root: Path) -> None:
    error = only_problem(root.parent / "nowhere")

    assert (error.path, error.field, error.line) == ("nowhere", "", None)
    assert error.message == "definition folder not found"


def test_root_without_definitions_is_an_error(root: Path) -> None:
    error = only_problem(root)

    assert error.path == "defs"
    assert error.message == "no definitions found (expected events/*.yml and metrics/**/*.yml)"


# --- events ---------------------------------------------------------------------------------------


def test_event_keeps_identifiers_and_typed_additional_properties(root: Path) -> None:
    write_event(
        root,
        "run_job",
        identifiers=["user", "project"],
        additional_properties=declare("label", "value", "note", runner="string", duration="number"),
    )

    event = load_definitions(root).event("run_job")

    assert event.identifiers == frozenset({"user", "project"})
    assert {name: prop.type for name, prop in event.additional_properties.items()} == {
        "label": "string",
        "value": "number",
        "runner": "string",
        "duration": "number",
        "note": "any",
    }


def test_event_path_is_relative_to_the_working_directory(root: Path) -> None:
    write_event(root, "open_page")

    assert load_definitions(root).event("open_page").path == "defs/events/open_page.yml"


# --- metric expansion (GitLab's TIME_FRAME_SUFFIX) ----------------------------------------------


def test_list_of_time_frames_expands_with_weekly_monthly_and_no_suffix(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.count_total_open_page", [{"name": "open_page"}], time_frame=["7d", "28d", "all"])

    metrics = load_definitions(root).metrics

    assert {key: m.time_frame for key, m in metrics.items()} == {
        "counts.count_total_open_page_weekly": "7d",
        "counts.count_total_open_page_monthly": "28d",
        "counts.count_total_open_page": "all",
    }


def test_scalar_time_frame_gets_no_suffix(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.count_total_open_page_7d", [{"name": "open_page"}], time_frame="7d")

    assert list(load_definitions(root).metrics) == ["counts.count_total_open_page_7d"]


def test_one_item_time_frame_list_still_gets_its_suffix(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.count_total_open_page", [{"name": "open_page"}], time_frame=["28d"])

    assert list(load_definitions(root).metrics) == ["counts.count_total_open_page_monthly"]


def test_expanded_metrics_share_the_file_path(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.c", [{"name": "open_page"}], time_frame=["7d", "all"], folder="counts_all")

    paths = {m.path for m in load_definitions(root).metrics.values()}

    assert paths == {"defs/metrics/counts_all/c.yml"}


@pytest.mark.parametrize(("time_frame", "time_framed"), [("7d", True), ("28d", True), ("all", False)])
def test_rules_are_time_framed_for_7d_and_28d_only(root: Path, time_frame: str, time_framed: bool) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.c", [{"name": "open_page"}], time_frame=time_frame)

    assert load_definitions(root).metric("counts.c").rules == (EventRule("open_page", time_framed),)


@pytest.mark.parametrize(
    ("unique", "expected"),
    [("user.id", "user"), ("project.id", "project"), ("namespace.id", "namespace"), ("label", "label")],
)
def test_unique_keeps_the_first_segment(root: Path, unique: str, expected: str) -> None:
    write_event(root, "open_page", additional_properties=declare("label"))
    write_metric(root, "redis_hll_counters.c", [{"name": "open_page", "unique": unique}])

    (rule,) = load_definitions(root).metric("redis_hll_counters.c").rules

    assert rule.unique == expected


def test_filter_becomes_a_tuple_sorted_by_property(root: Path) -> None:
    write_event(root, "open_page", additional_properties=declare("property", "label", "value", size="number"))
    write_metric(
        root,
        "counts.c",
        [{"name": "open_page", "filter": {"value": 3, "property": "web", "size": 2.5, "label": "x"}}],
    )

    (rule,) = load_definitions(root).metric("counts.c").rules

    assert rule.filter == (("label", "x"), ("property", "web"), ("size", 2.5), ("value", 3))


def test_sum_operator_makes_a_sum_rule(root: Path) -> None:
    write_event(root, "merge", additional_properties=declare("value"))
    write_metric(root, "counts.sum_value_from_merge", [{"name": "merge", "operator": "sum(value)"}])

    metric = load_definitions(root).metric("counts.sum_value_from_merge")

    assert metric.rules == (EventRule("merge", True, operator="sum(value)"),)
    assert metric.kind == "sum"


def test_metric_events_lists_each_event_once_in_order(root: Path) -> None:
    write_event(root, "b_event", additional_properties=declare("label"))
    write_event(root, "a_event")
    rules: list[dict[str, Any]] = [
        {"name": "b_event", "filter": {"label": "x"}},
        {"name": "a_event"},
        {"name": "b_event", "filter": {"label": "y"}},
    ]
    write_metric(root, "counts.c", rules)

    assert load_definitions(root).metric("counts.c").events == ("b_event", "a_event")


# --- how problems are reported -----------------------------------------------------------------


def test_definitions_invalid_error_is_a_definition_error(root: Path) -> None:
    write_event(root, "open_page", drop=["description"])

    with pytest.raises(DefinitionError):
        load_definitions(root)


def test_problem_names_file_field_line_and_message(root: Path) -> None:
    path = write_event(root, "open_page", identifiers=["user", "group"])

    error = only_problem(root)

    assert error.path == "defs/events/open_page.yml"
    assert error.field == "identifiers[1]"
    assert error.line == line_of(path, "- group")
    assert error.message == "'group' is not one of: project, user, namespace, feature_enabled_by_namespace_ids"


def test_problem_str_is_path_line_field_message(root: Path) -> None:
    path = write_event(root, "open_page", identifiers=["group"])

    error = only_problem(root)

    assert str(error) == (
        f"defs/events/open_page.yml:{line_of(path, '- group')}: identifiers[0]: "
        "'group' is not one of: project, user, namespace, feature_enabled_by_namespace_ids"
    )


def test_summary_str_counts_and_lists_every_problem(root: Path) -> None:
    write_event(root, "a", drop=["description"])
    write_event(root, "b", drop=["description"])

    with pytest.raises(DefinitionsInvalidError) as caught:
        load_definitions(root)

    assert str(caught.value) == (
        "2 problems in definitions:\n"
        "  defs/events/a.yml:1: description: required field is missing\n"
        "  defs/events/b.yml:1: description: required field is missing"
    )


def test_path_outside_the_working_directory_is_absolute(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_event(root, "open_page", drop=["description"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert only_problem(root).path == str(root / "events" / "open_page.yml")


def test_malformed_yaml_names_the_file_and_line(root: Path) -> None:
    write_text(root / "events" / "open_page.yml", "action: open_page\n  description: indented too far\n")

    error = only_problem(root)

    assert (error.path, error.field, error.line) == ("defs/events/open_page.yml", "", 2)
    assert error.message == "malformed YAML: mapping values are not allowed in this context"


def test_unclosed_quote_is_malformed_yaml_at_the_end_of_the_file(root: Path) -> None:
    write_text(root / "metrics" / "m.yml", 'key_path: counts.m\ndescription: "never closed\n')

    error = only_problem(root)

    assert (error.path, error.line) == ("defs/metrics/m.yml", 3)
    assert error.message == "malformed YAML: found unexpected end of stream"


def test_top_level_list_is_rejected(root: Path) -> None:
    write_text(root / "events" / "open_page.yml", "- action: open_page\n")

    error = only_problem(root)

    assert (error.path, error.field, error.line) == ("defs/events/open_page.yml", "", 1)
    assert error.message == "expected a mapping of fields at the top level"


def test_empty_file_is_rejected(root: Path) -> None:
    write_text(root / "metrics" / "empty.yml", "")

    assert only_problem(root).message == "expected a mapping of fields at the top level"


def test_tree_with_one_bad_file_returns_no_registry(root: Path) -> None:
    write_event(root, "good")
    write_metric(root, "counts.good", [{"name": "good"}])
    write_event(root, "bad", identifiers=["group"])
    registry = None

    with pytest.raises(DefinitionsInvalidError) as caught:
        registry = load_definitions(root)

    assert registry is None
    assert [e.path for e in caught.value.errors] == ["defs/events/bad.yml"]


def test_problems_in_several_files_are_all_reported_sorted_by_file(root: Path) -> None:
    write_event(root, "open_page", identifers=["user"])
    write_text(root / "events" / "broken.yml", "action: [\n")
    write_event(root, "close_page", file_name="shut_page.yml")
    write_metric(root, "counts.a", [{"name": "opn_page"}], folder="counts_all", time_frame="none")
    write_metric(root, "counts.b", [{"name": "close_page", "uniqe": "user.id"}])

    found = [(e.path, e.field, e.message) for e in problems(root)]

    assert found == [
        ("defs/events/broken.yml", "", "malformed YAML: did not find expected node content"),
        ("defs/events/open_page.yml", "identifers", "unknown field; did you mean 'identifiers'?"),
        (
            "defs/events/shut_page.yml",
            "action",
            "'close_page' does not match the file name (expected close_page.yml)",
        ),
        ("defs/metrics/counts_7d/b.yml", "events[0].uniqe", "unknown field; did you mean 'unique'?"),
        (
            "defs/metrics/counts_all/a.yml",
            "time_frame",
            "internal_events metrics need 7d, 28d or all, not none",
        ),
        ("defs/metrics/counts_all/a.yml", "events[0].name", "unknown event 'opn_page'; did you mean 'open_page'?"),
    ]


def test_a_yaml_date_is_a_problem_of_its_field(root: Path) -> None:
    write_text(root / "events" / "open_page.yml", "description: x\naction: open_page\nmilestone: 2024-01-01\n")

    error = only_problem(root)

    assert (error.path, error.line, error.field) == ("defs/events/open_page.yml", 3, "milestone")
    assert error.message == "expected string, got date datetime.date(2024, 1, 1)"


def test_a_list_as_a_mapping_key_is_a_problem_of_its_file(root: Path) -> None:
    write_text(root / "events" / "open_page.yml", "description: x\naction: open_page\n? [1, 2]\n: z\n")

    error = only_problem(root)

    assert (error.path, error.field) == ("defs/events/open_page.yml", "")
    assert error.message == "cannot check this file: unhashable type: 'list'"
