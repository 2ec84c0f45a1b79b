"""Rules that span files: metrics against the events they name, duplicates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from ..errors import DefinitionError
from ._hints import NameIndex
from ._model import IDENTIFIERS, SUM_OPERATOR, EventDefinition, EventRule, MetricDefinition
from ._schema import field_path
from ._yaml import LineFinder

__all__ = ["check_tree"]

Problem = tuple[str, list[str | int], str]
# The same problem as a hashable key (field path as a tuple), to report it once.
_Key = tuple[str, tuple[str | int, ...], str]


def check_tree(events: Sequence[EventDefinition], metrics: Sequence[MetricDefinition]) -> list[DefinitionError]:
    """Every cross-file problem, once each (an expanded metric file is checked once)."""
    problems: dict[_Key, None] = {}
    by_name: dict[str, EventDefinition] = {}
    legacy: dict[tuple[str | None, str], EventDefinition] = {}
    for event in events:
        if event.internal:
            first = by_name.setdefault(event.action, event)
            if first is not event:
                problems[(event.path, ("action",), f"duplicate event '{event.action}' (also in {first.path})")] = None
            continue
        # Legacy (Snowplow-only) events are keyed by category and action, as in GitLab.
        first = legacy.setdefault(event.key, event)
        if first is not event:
            problems[
                (
                    event.path,
                    ("action",),
                    f"duplicate legacy event '{event.action}' in category {event.category!r} (also in {first.path})",
                )
            ] = None
    names = _Names(by_name, legacy)
    key_paths: dict[str, MetricDefinition] = {}
    for metric in metrics:
        first_metric = key_paths.setdefault(metric.key_path, metric)
        if first_metric is not metric:
            problems[
                (
                    metric.path,
                    ("key_path",),
                    f"duplicate key_path '{metric.key_path}' (also in {first_metric.path})",
                )
            ] = None
        # Removed metrics may name events deleted since; they are kept for the record only.
        if metric.data_source == "internal_events" and metric.is_available:
            for path, parts, message in _check_metric(metric, names):
                problems[(path, tuple(parts), message)] = None
        elif metric.is_computed:  # a redis_hll metric with events
            for path, parts, message in _check_legacy_metric(metric, by_name):
                problems[(path, tuple(parts), message)] = None
    for metric in metrics:  # a key path nested below another metric's: the report cannot hold both
        segments = metric.key_path.split(".")
        for end in range(1, len(segments)):
            parent = key_paths.get(".".join(segments[:end]))
            if parent is not None:
                problems[
                    (
                        metric.path,
                        ("key_path",),
                        f"'{metric.key_path}' lies below the metric '{parent.key_path}' (in {parent.path}): "
                        "a report value cannot also hold other values",
                    )
                ] = None
    finders: dict[str, LineFinder] = {}
    return [
        DefinitionError(path, field_path(parts), message, _line(finders, path, parts))
        for path, parts, message in problems
    ]


def _line(finders: dict[str, LineFinder], path: str, parts: tuple[str | int, ...]) -> int | None:
    finder = finders.get(path)
    if finder is None:
        finder = finders[path] = LineFinder(Path(path))
    return finder.line_of(list(parts))


class _Names:
    """The internal events by name, and what to say of a name that is not one."""

    def __init__(self, events: Mapping[str, EventDefinition], legacy: Mapping[tuple[str | None, str], EventDefinition]):
        self.events = events
        self._legacy = {event.action: event for event in legacy.values()}
        self._index: NameIndex | None = None
        self._said: dict[str, str] = {}  # a misspelt name recurs in each time frame of a metric

    def unknown(self, name: str) -> str:
        said = self._said.get(name)
        if said is None:
            said = self._said[name] = self._describe(name)
        return said

    def _describe(self, name: str) -> str:
        legacy = self._legacy.get(name)
        if legacy is not None:
            return (
                f"'{name}' is not an internal event: {legacy.path} does not set internal_events: true, "
                "so it is never counted"
            )
        if self._index is None:  # built on the first unknown name only
            self._index = NameIndex(self.events)
        return f"unknown event '{name}'{self._index.hint(name)}"


def _check_legacy_metric(metric: MetricDefinition, events: Mapping[str, EventDefinition]) -> Iterator[Problem]:
    """A redis_hll metric: its rules against the events defined here. Events not defined here
    are not a problem: GitLab's legacy HLL events have no definition file."""
    for index, rule in enumerate(metric.rules):
        event = events.get(rule.event)
        if event is not None:
            yield from _check_rule(metric.path, index, rule, event)


def _check_metric(metric: MetricDefinition, names: _Names) -> Iterator[Problem]:
    events = names.events
    path = metric.path
    if metric.time_frame == "none":
        yield path, ["time_frame"], "internal_events metrics need 7d, 28d or all, not none"
    kinds = {rule.kind for rule in metric.rules}
    if len(kinds) > 1:
        yield path, ["events"], f"one metric cannot mix {' and '.join(sorted(kinds))} rules"
    uniques = {rule.unique for rule in metric.rules if rule.unique}
    if len(uniques) > 1:
        yield path, ["events"], f"all events must count the same unique identifier, got {sorted(uniques)}"
    if uniques and metric.time_frame == "all":
        yield path, ["time_frame"], "unique metrics allow only 7d and 28d time frames, not all"
    for index, rule in enumerate(metric.rules):
        event = events.get(rule.event)
        if event is None:
            yield path, ["events", index, "name"], names.unknown(rule.event)
            continue
        yield from _check_rule(path, index, rule, event)


def _check_rule(path: str, index: int, rule: EventRule, event: EventDefinition) -> Iterator[Problem]:
    declared = event.additional_properties
    if rule.unique in IDENTIFIERS and rule.unique not in event.identifiers:
        shown = ", ".join(sorted(event.identifiers)) or "none"
        yield (
            path,
            ["events", index, "unique"],
            f"'{rule.unique}.id' is not an identifier of event '{event.action}' (declared: {shown})",
        )
    elif rule.unique is not None and rule.unique not in IDENTIFIERS and rule.unique not in declared:
        yield (
            path,
            ["events", index, "unique"],
            f"'{rule.unique}' is not an additional property of event '{event.action}'"
            f" (declared: {', '.join(sorted(declared)) or 'none'})",
        )
    if rule.operator == SUM_OPERATOR:
        if rule.unique:
            yield path, ["events", index, "operator"], "sum(value) cannot be combined with unique"
        if "value" not in declared:
            yield (
                path,
                ["events", index, "operator"],
                f"sum(value) needs event '{event.action}' to declare the additional property 'value'",
            )
    for key, value in rule.filter:
        prop = declared.get(key)
        if prop is None:
            yield (
                path,
                ["events", index, "filter", key],
                f"'{key}' is not an additional property of event '{event.action}'"
                f" (declared: {', '.join(sorted(declared)) or 'none'})",
            )
        elif prop.type == "string" and not isinstance(value, str):
            yield path, ["events", index, "filter", key], f"expected a string for '{key}', got {value!r}"
        elif prop.type == "number" and (isinstance(value, str | bool)):
            yield path, ["events", index, "filter", key], f"expected a number for '{key}', got {value!r}"
