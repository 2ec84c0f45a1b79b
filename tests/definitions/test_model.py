"""EventRule and MetricDefinition: matching filters, kinds."""

from __future__ import annotations

from otel_internal_events.definitions import EventRule


def rule(**pairs: str | int | float) -> EventRule:
    return EventRule("x", time_framed=True, filter=tuple(sorted(pairs.items())))


def test_empty_filter_matches_anything() -> None:
    assert rule().matches({}) is True
    assert rule().matches({"label": "a"}) is True


def test_equal_value_matches() -> None:
    assert rule(label="failed").matches({"label": "failed", "property": "web"}) is True


def test_different_value_does_not_match() -> None:
    assert rule(label="failed").matches({"label": "success"}) is False


def test_missing_property_does_not_match() -> None:
    assert rule(label="failed").matches({}) is False


def test_string_one_does_not_match_number_one() -> None:
    assert rule(value=1).matches({"value": "1"}) is False
    assert rule(label="1").matches({"label": 1}) is False


def test_true_does_not_match_one() -> None:
    assert rule(value=1).matches({"value": True}) is False


def test_int_matches_equal_float() -> None:
    assert rule(value=2).matches({"value": 2.0}) is True


def test_every_filter_pair_must_match() -> None:
    both = rule(label="diff_line", property="web")

    assert both.matches({"label": "diff_line", "property": "web"}) is True
    assert both.matches({"label": "diff_line", "property": "api"}) is False
    assert both.matches({"label": "other", "property": "web"}) is False


def test_rule_kind_follows_operator_then_unique() -> None:
    assert EventRule("x", True).kind == "total"
    assert EventRule("x", True, unique="user").kind == "unique"
    assert EventRule("x", True, operator="sum(value)").kind == "sum"


def test_rules_are_hashable_and_compare_by_value() -> None:
    assert {rule(label="a"), rule(label="a")} == {rule(label="a")}
