"""The immutable registry a definition tree loads into."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from ..errors import UnknownEventError, UnknownMetricError
from ._model import IDENTIFIERS, EventDefinition, EventRule, MetricDefinition

__all__ = ["DefinitionRegistry"]


class DefinitionRegistry:
    """Events by name, metrics by key path, and the counting rules of each event.

    Built once by :func:`load_definitions`; nothing in it changes afterwards, so it is
    safe to share between threads.
    """

    __slots__ = ("_events", "_metrics", "_rules", "_unique_identifiers")

    def __init__(self, events: Iterable[EventDefinition], metrics: Iterable[MetricDefinition]) -> None:
        self._events: Mapping[str, EventDefinition] = MappingProxyType({e.action: e for e in events})
        self._metrics: Mapping[str, MetricDefinition] = MappingProxyType({m.key_path: m for m in metrics})
        rules: dict[str, dict[EventRule, None]] = {
            name: {EventRule(name, time_framed=False): None, EventRule(name, time_framed=True): None}
            for name in self._events
        }
        unique: dict[str, set[str]] = {name: set() for name in self._events}
        for metric in self._metrics.values():
            if not metric.is_computed:
                continue
            for rule in metric.rules:
                rules[rule.event][rule] = None
                if rule.unique in IDENTIFIERS:
                    unique[rule.event].add(rule.unique)
        self._rules = MappingProxyType({name: tuple(found) for name, found in rules.items()})
        self._unique_identifiers = MappingProxyType({k: frozenset(v) for k, v in unique.items()})

    @property
    def events(self) -> Mapping[str, EventDefinition]:
        """Every event definition, by name."""
        return self._events

    @property
    def metrics(self) -> Mapping[str, MetricDefinition]:
        """Every metric definition (one per time frame), by key path."""
        return self._metrics

    def event(self, name: str) -> EventDefinition:
        """The definition of ``name``; :class:`UnknownEventError` when there is none."""
        try:
            return self._events[name]
        except KeyError:
            raise UnknownEventError(name, "", f"unknown event{self._hint(name, self._events)}") from None

    def metric(self, key_path: str) -> MetricDefinition:
        """The metric at ``key_path``; :class:`UnknownMetricError` when there is none."""
        try:
            return self._metrics[key_path]
        except KeyError:
            raise UnknownMetricError(f"unknown metric '{key_path}'{self._hint(key_path, self._metrics)}") from None

    def rules_for(self, event: str) -> tuple[EventRule, ...]:
        """The counting rules of ``event``: its all-time and weekly totals, then its metrics' rules."""
        return self._rules.get(event, ())

    def unique_identifiers(self, event: str) -> frozenset[str]:
        """The identifiers (user, project, namespace) that a metric counts ``event`` by."""
        return self._unique_identifiers.get(event, frozenset())

    def metrics_for(self, event: str) -> tuple[MetricDefinition, ...]:
        """The available metrics that count ``event``."""
        return tuple(m for m in self._metrics.values() if m.is_computed and event in m.events)

    def __repr__(self) -> str:
        return f"<DefinitionRegistry events={len(self._events)} metrics={len(self._metrics)}>"

    @staticmethod
    def _hint(name: str, known: Mapping[str, object]) -> str:
        containing = [k for k in known if name in k]
        match = containing[:1] or difflib.get_close_matches(name, list(known), n=1)
        return f"; did you mean '{match[0]}'?" if match else ""
