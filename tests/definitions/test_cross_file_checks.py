"""Rules that span files: metrics against the events they count, duplicates across the tree."""

from __future__ import annotations

from pathlib import Path

from otel_internal_events.definitions import load_definitions

from .conftest import declare, line_of, only_problem, write_event, write_metric

# --- duplicates -----------------------------------------------------------------------------------


def test_same_event_in_two_roots_is_a_duplicate(root: Path, tmp_path: Path) -> None:
    write_event(root, "open_page")
    second = write_event(tmp_path / "more", "open_page")

    error = only_problem(root, tmp_path / "more")

    assert (error.path, error.field, error.line) == (
        "more/events/open_page.yml",
        "action",
        line_of(second, "action:"),
    )
    assert error.message == "duplicate event 'open_page' (also in defs/events/open_page.yml)"


def test_same_key_path_in_two_files_is_a_duplicate(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.c", [{"name": "open_page"}], folder="counts_7d")
    second = write_metric(root, "counts.c", [{"name": "open_page"}], folder="counts_all", time_frame="all")

    error = only_problem(root)

    assert (error.path, error.field, error.line) == ("defs/metrics/counts_all/c.yml", "key_path", 1)
    assert error.line == line_of(second, "key_path:")
    assert error.message == "duplicate key_path 'counts.c' (also in defs/metrics/counts_7d/c.yml)"


def test_expanded_key_path_colliding_with_a_single_frame_file_is_a_duplicate(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.c_weekly", [{"name": "open_page"}], folder="counts_7d")
    write_metric(root, "counts.c", [{"name": "open_page"}], folder="counts_all", time_frame=["7d", "all"])

    error = only_problem(root)

    assert (error.path, error.field) == ("defs/metrics/counts_all/c.yml", "key_path")
    assert error.message == "duplicate key_path 'counts.c_weekly' (also in defs/metrics/counts_7d/c_weekly.yml)"


# --- the events a metric names -------------------------------------------------------------------


def test_unknown_event_in_a_metric_suggests_the_closest(root: Path) -> None:
    write_event(root, "create_merge_request")
    path = write_metric(root, "counts.c", [{"name": "craete_merge_request"}])

    error = only_problem(root)

    assert (error.field, error.line) == ("events[0].name", line_of(path, "- name:"))
    assert error.message == "unknown event 'craete_merge_request'; did you mean 'create_merge_request'?"


def test_unknown_event_without_a_close_match_has_no_hint(root: Path) -> None:
    write_event(root, "create_merge_request")
    write_metric(root, "counts.c", [{"name": "zzz"}])

    assert only_problem(root).message == "unknown event 'zzz'"


def test_unknown_event_is_reported_once_for_an_expanded_file(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.c", [{"name": "opn_page"}], time_frame=["7d", "28d", "all"])

    assert only_problem(root).message == "unknown event 'opn_page'; did you mean 'open_page'?"


def test_unique_identifier_not_declared_by_the_event_is_rejected(root: Path) -> None:
    write_event(root, "x", identifiers=["user", "namespace"])
    path = write_metric(root, "redis_hll_counters.c", [{"name": "x", "unique": "project.id"}])

    error = only_problem(root)

    assert (error.field, error.line) == ("events[0].unique", line_of(path, "unique:"))
    assert error.message == "'project.id' is not an identifier of event 'x' (declared: namespace, user)"


def test_unique_identifier_of_an_event_without_identifiers_says_none(root: Path) -> None:
    write_event(root, "x", identifiers=[])
    write_metric(root, "redis_hll_counters.c", [{"name": "x", "unique": "user.id"}])

    assert only_problem(root).message == "'user.id' is not an identifier of event 'x' (declared: none)"


def test_unique_label_not_declared_by_the_event_is_rejected(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("property"))
    write_metric(root, "redis_hll_counters.c", [{"name": "x", "unique": "label"}])

    error = only_problem(root)

    assert error.field == "events[0].unique"
    assert error.message == "'label' is not an additional property of event 'x' (declared: property)"


def test_unique_label_declared_by_the_event_is_accepted(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("label"))
    write_metric(root, "redis_hll_counters.c", [{"name": "x", "unique": "label"}])

    assert load_definitions(root).metric("redis_hll_counters.c").kind == "unique"


# --- filters ----------------------------------------------------------------------------------------


def test_filter_on_an_undeclared_property_is_rejected(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("label"))
    path = write_metric(root, "counts.c", [{"name": "x", "filter": {"language": "python"}}])

    error = only_problem(root)

    assert (error.field, error.line) == ("events[0].filter.language", line_of(path, "language:"))
    assert error.message == "'language' is not an additional property of event 'x' (declared: label)"


def test_label_filter_with_a_number_is_rejected(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("label"))
    write_metric(root, "counts.c", [{"name": "x", "filter": {"label": 5}}])

    error = only_problem(root)

    assert (error.field, error.message) == ("events[0].filter.label", "expected string, got integer 5")


def test_value_filter_with_a_string_is_rejected(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("value"))
    write_metric(root, "counts.c", [{"name": "x", "filter": {"value": "big"}}])

    error = only_problem(root)

    assert (error.field, error.message) == ("events[0].filter.value", "expected number, got string 'big'")


def test_number_property_filter_with_a_string_is_rejected(root: Path) -> None:
    write_event(root, "x", additional_properties=declare(size="number"))
    write_metric(root, "counts.c", [{"name": "x", "filter": {"size": "big"}}])

    error = only_problem(root)

    assert (error.field, error.message) == (
        "events[0].filter.size",
        "expected a number for 'size', got 'big'",
    )


def test_string_property_filter_with_a_number_is_rejected(root: Path) -> None:
    write_event(root, "x", additional_properties=declare(language="string"))
    write_metric(root, "counts.c", [{"name": "x", "filter": {"language": 3}}])

    assert only_problem(root).message == "expected a string for 'language', got 3"


def test_filter_on_an_untyped_property_accepts_strings_and_numbers(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("kind"))
    write_metric(root, "counts.a", [{"name": "x", "filter": {"kind": "granular"}}])
    write_metric(root, "counts.b", [{"name": "x", "filter": {"kind": 2}}])

    assert sorted(load_definitions(root).metrics) == ["counts.a", "counts.b"]


# --- the kind of a metric -----------------------------------------------------------------------------


def test_unique_metric_with_time_frame_all_is_rejected(root: Path) -> None:
    write_event(root, "x")
    path = write_metric(root, "redis_hll_counters.c", [{"name": "x", "unique": "user.id"}], time_frame="all")

    error = only_problem(root)

    assert (error.field, error.line) == ("time_frame", line_of(path, "time_frame:"))
    assert error.message == "unique metrics allow only 7d and 28d time frames, not all"


def test_unique_metric_with_all_in_its_time_frame_list_is_rejected_once(root: Path) -> None:
    write_event(root, "x")
    write_metric(root, "redis_hll_counters.c", [{"name": "x", "unique": "user.id"}], time_frame=["7d", "28d", "all"])

    error = only_problem(root)

    assert (error.field, error.message) == (
        "time_frame",
        "unique metrics allow only 7d and 28d time frames, not all",
    )


def test_unique_metric_with_7d_and_28d_is_accepted(root: Path) -> None:
    write_event(root, "x")
    write_metric(root, "redis_hll_counters.c", [{"name": "x", "unique": "user.id"}], time_frame=["7d", "28d"])

    assert sorted(load_definitions(root).metrics) == [
        "redis_hll_counters.c_monthly",
        "redis_hll_counters.c_weekly",
    ]


def test_mixing_unique_and_total_rules_is_rejected(root: Path) -> None:
    write_event(root, "x")
    write_event(root, "y")
    path = write_metric(root, "counts.c", [{"name": "x", "unique": "user.id"}, {"name": "y"}])

    error = only_problem(root)

    assert (error.field, error.line) == ("events", line_of(path, "events:"))
    assert error.message == "one metric cannot mix total and unique rules"


def test_two_different_unique_identifiers_are_rejected(root: Path) -> None:
    write_event(root, "x")
    write_event(root, "y")
    write_metric(root, "counts.c", [{"name": "x", "unique": "user.id"}, {"name": "y", "unique": "project.id"}])

    error = only_problem(root)

    assert (error.field, error.message) == (
        "events",
        "all events must count the same unique identifier, got ['project', 'user']",
    )


def test_several_events_counted_by_the_same_identifier_are_accepted(root: Path) -> None:
    write_event(root, "x")
    write_event(root, "y")
    write_metric(root, "counts.c", [{"name": "x", "unique": "user.id"}, {"name": "y", "unique": "user.id"}])

    assert load_definitions(root).metric("counts.c").events == ("x", "y")


def test_sum_of_value_needs_the_event_to_declare_value(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("label"))
    path = write_metric(root, "counts.c", [{"name": "x", "operator": "sum(value)"}])

    error = only_problem(root)

    assert (error.field, error.line) == ("events[0].operator", line_of(path, "operator:"))
    assert error.message == "sum(value) needs event 'x' to declare the additional property 'value'"


def test_sum_of_value_cannot_be_combined_with_unique(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("value"))
    write_metric(root, "counts.c", [{"name": "x", "operator": "sum(value)", "unique": "user.id"}])

    error = only_problem(root)

    assert (error.field, error.message) == ("events[0].operator", "sum(value) cannot be combined with unique")


def test_time_frame_none_is_rejected_for_internal_events(root: Path) -> None:
    write_event(root, "x")
    path = write_metric(root, "counts.c", [{"name": "x"}], time_frame="none")

    error = only_problem(root)

    assert (error.field, error.line) == ("time_frame", line_of(path, "time_frame:"))
    assert error.message == "internal_events metrics need 7d, 28d or all, not none"


def test_removed_metric_may_name_an_event_deleted_since(root: Path) -> None:
    write_event(root, "kept")
    write_metric(
        root,
        "counts.count_total_deleted_event",
        [{"name": "deleted_event"}],
        status="removed",
        removed_by_url="https://forge.example.com/mr/1",
        milestone_removed="1.2",
    )

    registry = load_definitions(root)

    assert registry.metrics["counts.count_total_deleted_event"].is_computed is False
    assert registry.rules_for("deleted_event") == ()


def test_active_metric_naming_a_deleted_event_is_still_rejected(root: Path) -> None:
    write_event(root, "kept")
    write_metric(root, "counts.count_total_deleted_event", [{"name": "deleted_event"}])

    assert only_problem(root).message == "unknown event 'deleted_event'"


def test_a_key_path_below_another_metric_is_rejected(root: Path) -> None:
    write_event(root, "open_page")
    write_metric(root, "counts.open.by_web", [{"name": "open_page"}], file_name="by_web.yml")
    write_metric(root, "counts.open", [{"name": "open_page"}], file_name="open.yml")

    error = only_problem(root)

    assert (error.path, error.field) == ("defs/metrics/counts_7d/by_web.yml", "key_path")
    assert error.message == (
        "'counts.open.by_web' lies below the metric 'counts.open' (in defs/metrics/counts_7d/open.yml): "
        "a report value cannot also hold other values"
    )
