"""The demo definitions shipped in definitions/ load and show every kind of metric."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from otel_internal_events.definitions import (
    BUILTIN_PROPERTIES,
    DefinitionRegistry,
    EventRule,
    load_definitions,
)

SHIPPED = Path(__file__).resolve().parents[2] / "definitions"


@pytest.fixture(scope="module")
def registry() -> DefinitionRegistry:
    return load_definitions(SHIPPED)


def computed_rules(registry: DefinitionRegistry) -> list[EventRule]:
    return [rule for metric in registry.metrics.values() if metric.is_computed for rule in metric.rules]


def test_shipped_tree_has_at_least_12_events(registry: DefinitionRegistry) -> None:
    assert len(registry.events) >= 12


def test_shipped_tree_has_at_least_20_metric_files() -> None:
    assert len(list((SHIPPED / "metrics").rglob("*.yml"))) >= 20


@pytest.mark.parametrize("identifier", ["user", "project", "namespace"])
def test_shipped_metrics_count_unique_by_each_identifier(registry: DefinitionRegistry, identifier: str) -> None:
    assert any(rule.unique == identifier for rule in computed_rules(registry))


@pytest.mark.parametrize("kind", ["total", "unique", "sum"])
def test_shipped_metrics_include_each_kind(registry: DefinitionRegistry, kind: str) -> None:
    assert any(metric.kind == kind for metric in registry.metrics.values())


def test_shipped_sum_metrics_sum_value(registry: DefinitionRegistry) -> None:
    sums = [rule for rule in computed_rules(registry) if rule.kind == "sum"]

    assert sums
    assert {rule.operator for rule in sums} == {"sum(value)"}


def test_shipped_metrics_filter_on_built_in_properties(registry: DefinitionRegistry) -> None:
    keys = {key for rule in computed_rules(registry) for key, _ in rule.filter}

    assert keys & set(BUILTIN_PROPERTIES)


def test_shipped_metrics_filter_on_custom_properties(registry: DefinitionRegistry) -> None:
    keys = {key for rule in computed_rules(registry) for key, _ in rule.filter}

    assert keys - set(BUILTIN_PROPERTIES)


def test_shipped_events_declare_string_and_number_custom_properties(registry: DefinitionRegistry) -> None:
    types = {
        prop.type
        for event in registry.events.values()
        for prop in event.additional_properties.values()
        if not prop.is_builtin
    }

    assert types >= {"string", "number"}


def test_shipped_tree_has_multi_time_frame_files(registry: DefinitionRegistry) -> None:
    per_file = Counter(metric.path for metric in registry.metrics.values())

    assert max(per_file.values()) == 3


def test_shipped_multi_time_frame_file_expands_with_suffixes(registry: DefinitionRegistry) -> None:
    per_file = Counter(metric.path for metric in registry.metrics.values())
    path = next(path for path, count in per_file.items() if count == 3)

    frames = {m.time_frame: m.key_path for m in registry.metrics.values() if m.path == path}
    base = frames["all"]

    assert frames == {"7d": f"{base}_weekly", "28d": f"{base}_monthly", "all": base}
