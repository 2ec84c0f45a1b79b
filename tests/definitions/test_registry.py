"""DefinitionRegistry: look-ups, counting rules per event, immutability."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from otel_internal_events.definitions import DefinitionRegistry, EventRule, load_definitions
from otel_internal_events.errors import UnknownEventError, UnknownMetricError

from .conftest import declare, write_event, write_metric

REMOVED = {"removed_by_url": "https://x/-/merge_requests/9", "milestone_removed": "2.0"}


@pytest.fixture
def registry(root: Path) -> DefinitionRegistry:
    """Event ``open_page`` counted by totals, a filter and users; ``close_page`` by nothing."""
    write_event(root, "open_page", identifiers=["user", "project"], additional_properties=declare("label"))
    write_event(root, "close_page", identifiers=["user", "namespace"])
    write_metric(root, "counts.a_total", [{"name": "open_page"}], time_frame="7d")
    write_metric(root, "counts.b_users", [{"name": "open_page", "unique": "user.id"}], time_frame=["7d", "28d"])
    write_metric(root, "counts.c_docs", [{"name": "open_page", "filter": {"label": "docs"}}], time_frame="all")
    return load_definitions(root)


def test_event_returns_the_definition(registry: DefinitionRegistry) -> None:
    assert registry.event("open_page").name == "open_page"


def test_unknown_event_raises_with_a_hint(registry: DefinitionRegistry) -> None:
    with pytest.raises(UnknownEventError) as caught:
        registry.event("opne_page")

    assert (caught.value.event, caught.value.reason) == ("opne_page", "unknown_event")
    assert str(caught.value) == "event 'opne_page': unknown event; did you mean 'open_page'?"


def test_unknown_event_without_a_close_match_has_no_hint(registry: DefinitionRegistry) -> None:
    with pytest.raises(UnknownEventError) as caught:
        registry.event("zzz")

    assert caught.value.message == "unknown event"


def test_metric_returns_the_definition(registry: DefinitionRegistry) -> None:
    assert registry.metric("counts.b_users_weekly").time_frame == "7d"


def test_unknown_metric_suggests_the_expanded_key_path(registry: DefinitionRegistry) -> None:
    with pytest.raises(UnknownMetricError) as caught:
        registry.metric("counts.b_users")

    assert str(caught.value) == "unknown metric 'counts.b_users'; did you mean 'counts.b_users_weekly'?"


def test_unknown_metric_suggests_a_close_key_path(registry: DefinitionRegistry) -> None:
    with pytest.raises(UnknownMetricError) as caught:
        registry.metric("counts.c_dcos")

    assert str(caught.value) == "unknown metric 'counts.c_dcos'; did you mean 'counts.c_docs'?"


def test_unknown_metric_is_a_key_error(registry: DefinitionRegistry) -> None:
    with pytest.raises(KeyError):
        registry.metric("zzz")


def test_rules_for_lists_totals_first_then_metric_rules_once(registry: DefinitionRegistry) -> None:
    assert registry.rules_for("open_page") == (
        EventRule("open_page", time_framed=False),
        EventRule("open_page", time_framed=True),
        EventRule("open_page", time_framed=True, unique="user"),
        EventRule("open_page", time_framed=False, filter=(("label", "docs"),)),
    )


def test_rules_for_an_event_no_metric_counts_are_its_totals(registry: DefinitionRegistry) -> None:
    assert registry.rules_for("close_page") == (
        EventRule("close_page", time_framed=False),
        EventRule("close_page", time_framed=True),
    )


def test_rules_for_an_unknown_event_is_empty(registry: DefinitionRegistry) -> None:
    assert registry.rules_for("zzz") == ()


def test_unique_identifiers_are_those_metrics_count(registry: DefinitionRegistry) -> None:
    assert registry.unique_identifiers("open_page") == frozenset({"user"})


def test_declared_but_uncounted_identifiers_are_not_unique_identifiers(registry: DefinitionRegistry) -> None:
    assert registry.unique_identifiers("close_page") == frozenset()


def test_unique_identifiers_leave_out_unique_properties(root: Path) -> None:
    write_event(root, "x", additional_properties=declare("label"))
    write_metric(root, "counts.c", [{"name": "x", "unique": "label"}])

    assert load_definitions(root).unique_identifiers("x") == frozenset()


def test_metrics_for_lists_the_metrics_counting_an_event(registry: DefinitionRegistry) -> None:
    keys = [m.key_path for m in registry.metrics_for("open_page")]

    assert keys == ["counts.a_total", "counts.b_users_weekly", "counts.b_users_monthly", "counts.c_docs"]


def test_removed_metric_is_loaded_but_not_computed(root: Path) -> None:
    write_event(root, "x")
    write_metric(root, "counts.c", [{"name": "x", "unique": "user.id"}], status="removed", **REMOVED)

    metric = load_definitions(root).metric("counts.c")

    assert (metric.status, metric.is_available, metric.is_computed) == ("removed", False, False)


def test_removed_metric_adds_no_rule_and_no_unique_identifier(root: Path) -> None:
    write_event(root, "x")
    write_metric(root, "counts.c", [{"name": "x", "unique": "user.id"}], status="removed", **REMOVED)

    registry = load_definitions(root)

    assert registry.rules_for("x") == (EventRule("x", time_framed=False), EventRule("x", time_framed=True))
    assert registry.unique_identifiers("x") == frozenset()
    assert registry.metrics_for("x") == ()


def test_mapping_views_are_mapping_proxies(registry: DefinitionRegistry) -> None:
    assert type(registry.events) is MappingProxyType
    assert type(registry.metrics) is MappingProxyType


def test_events_view_cannot_be_changed(registry: DefinitionRegistry) -> None:
    with pytest.raises(TypeError):
        registry.events["zzz"] = registry.event("open_page")  # type: ignore[index]


def test_metrics_view_cannot_be_changed(registry: DefinitionRegistry) -> None:
    with pytest.raises(TypeError):
        del registry.metrics["counts.a_total"]  # type: ignore[attr-defined]


def test_definitions_are_frozen(registry: DefinitionRegistry) -> None:
    with pytest.raises(AttributeError):
        registry.event("open_page").action = "other"  # type: ignore[misc]


def test_registry_takes_no_new_attributes(registry: DefinitionRegistry) -> None:
    with pytest.raises(AttributeError):
        registry.extra = 1  # type: ignore[attr-defined]


def test_repr_counts_events_and_metrics(registry: DefinitionRegistry) -> None:
    assert repr(registry) == "<DefinitionRegistry events=2 metrics=4>"
