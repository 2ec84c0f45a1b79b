"""The immutable objects a definition tree loads into."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

PropertyType = Literal["string", "number", "any"]
TimeFrame = Literal["7d", "28d", "all"]
RuleKind = Literal["total", "sum", "unique"]

#: Built-in additional properties and their types (GitLab's BASE_ADDITIONAL_PROPERTIES).
BUILTIN_PROPERTIES: Mapping[str, PropertyType] = {
    "label": "string",
    "property": "string",
    "value": "number",
}
#: Identifiers an event may declare, and those a metric may count uniquely.
IDENTIFIERS = ("user", "project", "namespace")
#: ``time_frame`` -> suffix appended to ``key_path`` when a file lists several time frames.
TIME_FRAME_SUFFIX: Mapping[str, str] = {"7d": "_weekly", "28d": "_monthly", "all": ""}
SUM_OPERATOR = "sum(value)"
#: Statuses whose metrics are counted and reported (``data_available``: older files' ``active``).
AVAILABLE_STATUSES = frozenset({"active", "broken", "data_available"})


@dataclass(frozen=True, slots=True)
class AdditionalProperty:
    """A declared additional property of an event."""

    name: str
    description: str
    type: PropertyType

    @property
    def is_builtin(self) -> bool:
        return self.name in BUILTIN_PROPERTIES


@dataclass(frozen=True, slots=True)
class EventDefinition:
    """One event, from ``definitions/events/<action>.yml`` (an internal event) or a legacy
    ``<timestamp>_<category>_<action>.yml``.

    Only internal events (``internal_events: true``) can be tracked and counted; the others,
    as in GitLab, only describe a Snowplow event and are keyed by ``(category, action)``.
    """

    action: str
    description: str
    identifiers: frozenset[str]
    additional_properties: Mapping[str, AdditionalProperty]
    path: str
    fields: Mapping[str, object] = field(repr=False, compare=False)
    #: The Snowplow category a legacy event declares (None when it has none).
    category: str | None = None
    #: True for an internal event: ``internal_events: true`` (GitLab's default is false).
    internal: bool = True

    @property
    def name(self) -> str:
        return self.action

    @property
    def key(self) -> tuple[str | None, str]:
        """``(category, action)``: what identifies a legacy event (internal events: the action)."""
        return (self.category, self.action)


@dataclass(frozen=True, slots=True)
class EventRule:
    """How one event feeds one counter (GitLab's EventSelectionRule).

    ``unique`` is the identifier counted distinctly (``user``, ``project``, ``namespace``,
    ``label``, ``property`` or ``value``); ``filter`` holds (property, value) pairs sorted by
    property, all of which must equal the event's additional properties for the rule to apply.
    """

    event: str
    time_framed: bool
    filter: tuple[tuple[str, str | int | float], ...] = ()
    unique: str | None = None
    operator: str | None = None

    @property
    def kind(self) -> RuleKind:
        if self.operator == SUM_OPERATOR:
            return "sum"
        return "unique" if self.unique else "total"

    def matches(self, properties: Mapping[str, object]) -> bool:
        """True when every filter pair equals the property of the same name (type included)."""
        for key, expected in self.filter:
            actual = properties.get(key)
            # '1' != 1 already; True == 1 must not match either.
            if actual != expected or type(actual) is bool:
                return False
        return True


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    """One metric for one time frame (a file with several time frames gives several)."""

    key_path: str
    time_frame: str
    description: str
    status: str
    data_source: str
    rules: tuple[EventRule, ...]
    path: str
    fields: Mapping[str, object] = field(repr=False, compare=False)

    @property
    def kind(self) -> RuleKind:
        """``unique``, ``total`` or ``sum``; every rule of a metric has the same kind."""
        return self.rules[0].kind if self.rules else "total"

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule.event for rule in self.rules))

    @property
    def is_available(self) -> bool:
        """Counted and reported: status ``active`` or ``broken`` (as GitLab), or the older
        ``data_available``."""
        return self.status in AVAILABLE_STATUSES

    @property
    def is_computed(self) -> bool:
        """True for the available metrics whose values we compute: ``internal_events`` ones,
        and ``redis_hll`` ones that list their events, over 7d or 28d (GitLab's older unique
        metrics: PFCOUNT of the union of their events' HLL keys)."""
        if not self.is_available:
            return False
        if self.data_source == "internal_events":
            return True
        return self.data_source == "redis_hll" and bool(self.rules) and self.time_frame in ("7d", "28d")
