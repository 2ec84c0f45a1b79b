"""The immutable registry a definition tree loads into."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from ..errors import UnknownEventError, UnknownMetricError
from ._hints import NameIndex
from ._model import IDENTIFIERS, EventDefinition, EventRule, MetricDefinition

__all__ = ["DefinitionRegistry"]


class DefinitionRegistry:
    """Internal events by name, legacy events by (category, action), metrics by key path, and
    the counting rules of each internal event.

    Built once by :func:`load_definitions`; nothing in it changes afterwards, so it is
    safe to share between threads.
    """

    __slots__ = (
        "_event_index",
        "_events",
        "_legacy_events",
        "_metric_index",
        "_metrics",
        "_rules",
        "_unique_identifiers",
    )

    def __init__(self, events: Iterable[EventDefinition], metrics: Iterable[MetricDefinition]) -> None:
        events = list(events)
        self._events: Mapping[str, EventDefinition] = MappingProxyType({e.action: e for e in events if e.internal})
        self._legacy_events: Mapping[tuple[str | None, str], EventDefinition] = MappingProxyType(
            {e.key: e for e in events if not e.internal}
        )
        self._metrics: Mapping[str, MetricDefinition] = MappingProxyType({m.key_path: m for m in metrics})
        self._event_index: NameIndex | None = None
        self._metric_index: NameIndex | None = None
        rules: dict[str, dict[EventRule, None]] = {
            name: {EventRule(name, time_framed=False): None, EventRule(name, time_framed=True): None}
            for name in self._events
        }
        unique: dict[str, set[str]] = {name: set() for name in self._events}
        for metric in self._metrics.values():
            if not metric.is_computed:
                continue
            for rule in metric.rules:
                if rule.event not in rules:
                    continue  # a redis_hll metric may name GitLab's legacy HLL events, not defined here
                rules[rule.event][rule] = None
                if rule.unique in IDENTIFIERS:
                    unique[rule.event].add(rule.unique)
        self._rules = MappingProxyType({name: tuple(found) for name, found in rules.items()})
        self._unique_identifiers = MappingProxyType({k: frozenset(v) for k, v in unique.items()})

    @property
    def events(self) -> Mapping[str, EventDefinition]:
        """Every internal event (``internal_events: true``), by name: the events that can be
        tracked."""
        return self._events

    @property
    def legacy_events(self) -> Mapping[tuple[str | None, str], EventDefinition]:
        """The legacy definitions (no ``internal_events: true``), by ``(category, action)``.

        As in GitLab they only describe Snowplow events: tracking one is an unknown event.
        """
        return self._legacy_events

    def is_trackable(self, name: str) -> bool:
        """True when ``name`` is an internal event, which tracking accepts and counts."""
        return name in self._events

    @property
    def metrics(self) -> Mapping[str, MetricDefinition]:
        """Every metric definition (one per time frame), by key path."""
        return self._metrics

    def event(self, name: str) -> EventDefinition:
        """The definition of ``name``; :class:`UnknownEventError` when there is none."""
        try:
            return self._events[name]
        except KeyError:
            pass
        legacy = next((e for e in self._legacy_events.values() if e.action == name), None)
        if legacy is not None:
            raise UnknownEventError(
                name,
                "",
                f"not an internal event: {legacy.path} does not set internal_events: true, so it only "
                "describes a Snowplow event",
            )
        if self._event_index is None:
            self._event_index = NameIndex(self._events)
        raise UnknownEventError(name, "", f"unknown event{self._event_index.hint(name)}")

    def metric(self, key_path: str) -> MetricDefinition:
        """The metric at ``key_path``; :class:`UnknownMetricError` when there is none."""
        try:
            return self._metrics[key_path]
        except KeyError:
            pass
        if self._metric_index is None:
            self._metric_index = NameIndex(self._metrics)
        raise UnknownMetricError(f"unknown metric '{key_path}'{self._metric_index.hint(key_path)}")

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
