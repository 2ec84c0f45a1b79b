"""Check one tracking call against its definition and turn it into wire attributes.

Every source of events goes through :class:`EventChecker`: ``track_internal_event`` in the
application, and the gateway for events that arrive over OTLP or the events API. So the
rules, the ``internal_events.rejected{event,reason}`` counter and the two regimes are the same
everywhere. Production mode never raises: a problem is logged once per (event, reason),
counted, and handled as the module docstring of :mod:`._tracker` says. Strict mode raises the
first problem as its typed error instead, before anything is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.metrics import Meter

from .._warn_once import WarnOnce
from ..conventions import (
    CATEGORY,
    EVENT_NAME,
    FEATURE_ENABLED_BY_NAMESPACE_IDS,
    NAMESPACE_ID,
    PROJECT_ID,
    PROPERTY_PREFIX,
    REJECTED_COUNTER,
    SEND_SNOWPLOW,
    USER_ID,
)
from ..definitions import DefinitionRegistry
from ..errors import InvalidPropertyTypeError, InvalidPropertyValueError, TrackingError, UnknownEventError
from ..wire import TrackedEvent, encode
from ._validator import (
    INT64_MAX,
    INT64_MIN,
    EventSpec,
    compile_specs,
    identifier_of,
    project_namespace,
    property_problem,
    unstorable,
)

__all__ = ["EventChecker"]

_log = logging.getLogger("otel_internal_events")
Attributes = dict[str, Any]


class EventChecker:
    """Checks tracking calls against one definition registry."""

    def __init__(self, registry: DefinitionRegistry, meter: Meter, *, strict: bool) -> None:
        self.registry = registry
        self.strict = strict
        self._specs = compile_specs(registry)
        self._rejected = meter.create_counter(
            REJECTED_COUNTER,
            unit="{call}",
            description="Tracking calls rejected in whole or in part, by event and reason.",
        )
        self._once = WarnOnce(_log, suffix="")

    def check(
        self,
        problems: list[TrackingError],
        event: str,
        user: Any,
        namespace: Any,
        project: Any,
        additional_properties: Mapping[str, Any] | None,
        feature_ids: Iterable[int] | None,
        category: Any,
        send_snowplow: Any,
    ) -> Attributes | None:
        """The wire attributes of what is valid in a call (None for an unknown event); each
        problem is appended to ``problems``, neither raised nor reported."""
        spec = self._specs.get(event) if type(event) is str else None
        if spec is None:
            problems.append(self._unknown(event))
            return None
        user_id = self._identifier(problems, event, "user", user)
        project_id = self._identifier(problems, event, "project", project)
        namespace_id = self._identifier(problems, event, "namespace", namespace)
        if namespace_id is None and project is not None and project_id is not None:
            namespace_id = project_namespace(event, project)
        properties = self._properties(problems, spec, additional_properties) if additional_properties else None
        for identifier, matchers in spec.required_identifiers:
            given = user_id if identifier == "user" else project_id if identifier == "project" else namespace_id
            if given is None and any(matcher is None or matcher(properties or {}) for matcher in matchers):
                problems.append(spec.missing(identifier))
        if category is not None and (type(category) is not str or not category.isascii()):
            problems.append(
                InvalidPropertyTypeError(event, "category", f"expected a string, got {category!r}")
                if type(category) is not str
                else InvalidPropertyValueError(event, "category", f"{unstorable(category)}: {category!r}")
            )
            category = None
        if type(send_snowplow) is not bool:
            problems.append(
                InvalidPropertyTypeError(event, "send_snowplow_event", f"expected True or False, got {send_snowplow!r}")
            )
            send_snowplow = True
        if feature_ids is not None:
            feature_ids = self._feature_ids(problems, event, feature_ids)
        return encode(event, user_id, project_id, namespace_id, properties, feature_ids, category, send_snowplow)

    def event_from_wire(self, event: str, attributes: Mapping[str, Any], timestamp_ns: int) -> TrackedEvent | None:
        """The event of wire attributes that pass every check as they are; None when anything
        needs the full check (:meth:`check` of :func:`~otel_internal_events.wire.call_arguments`),
        which says what is wrong.

        A fast path for the gateway, where nearly every event is clean: it turns the attributes
        into the event in one pass, and accepts only what the full check accepts unchanged (the
        whole-double ids of a parsed log line included), so both give the same event.
        """
        spec = self._specs.get(event) if type(event) is str else None
        if spec is None:
            return None
        by_attribute = spec.by_attribute
        properties: dict[str, Any] = {}
        ids: dict[str, Any] = {"user": None, "project": None, "namespace": None}
        category: str | None = None
        feature_ids: tuple[int, ...] = ()
        send_snowplow = True
        for key, value in attributes.items():
            declared = by_attribute.get(key)
            if declared is not None:
                if type(value) not in declared[1] or not _plainly_storable(value):
                    return None
                properties[declared[0]] = value
                continue
            field = _WIRE_FIELDS.get(key)
            if field is None:
                if key.startswith(PROPERTY_PREFIX):
                    return None  # undeclared
                continue  # not ours: the full check ignores it too
            value_type = type(value)
            if field in ids:
                if value_type is float and value.is_integer():
                    value = int(value)
                elif value_type is not int and value_type is not str:
                    return None
                if not _plainly_storable(value):
                    return None
                ids[field] = value
            elif field == "category":
                if value_type is not str or not value.isascii():
                    return None
                category = value
            elif field == "feature_ids":
                if value_type is not list or not all(type(v) is int and _plainly_storable(v) for v in value):
                    return None
                feature_ids = tuple(value)
            elif field == "send_snowplow":
                if value_type is not bool:
                    return None
                send_snowplow = value
        for identifier, matchers in spec.required_identifiers:
            if ids[identifier] is None and any(matcher is None or matcher(properties) for matcher in matchers):
                return None
        return TrackedEvent(
            event,
            timestamp_ns,
            ids["user"],
            ids["project"],
            ids["namespace"],
            properties,
            category,
            feature_ids,
            send_snowplow,
        )

    def settle(self, problems: list[TrackingError]) -> None:
        """Apply the mode to a call's problems: raise the first (strict), or report each."""
        if self.strict:
            raise problems[0]
        for problem in problems:
            self.report(problem, problem.reason)

    def report(self, problem: TrackingError, reason: str) -> None:
        """Count ``problem`` in ``internal_events.rejected`` and log it the first time."""
        self._rejected.add(1, {"event": problem.event, "reason": reason})
        self._once.warn(
            f"{problem.event}\0{reason}", "internal event rejected (logged once per event and reason): %s", problem
        )

    def _properties(
        self, problems: list[TrackingError], spec: EventSpec, properties: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The valid properties, by their own names."""
        valid = {}
        declared = spec.properties
        if type(properties) is not dict and not isinstance(properties, Mapping):
            problems.append(
                InvalidPropertyTypeError(
                    spec.name, "additional_properties", f"expected a mapping, got {type(properties).__name__}"
                )
            )
            return valid
        for key, value in properties.items():
            found = declared.get(key)
            if found is None:
                problems.append(spec.undeclared(str(key)))
                continue
            problem = property_problem(spec.name, key, found[1], value)
            if problem is not None:
                problems.append(problem)
                continue
            valid[key] = value
        return valid

    def _identifier(self, problems: list[TrackingError], event: str, name: str, value: Any) -> int | str | None:
        try:
            return identifier_of(event, name, value)
        except TrackingError as problem:
            problems.append(problem)
            return None

    def _feature_ids(self, problems: list[TrackingError], event: str, ids: Iterable[int]) -> list[int]:
        try:
            values = list(ids)
        except TypeError:
            problems.append(
                InvalidPropertyTypeError(event, "feature_enabled_by_namespace_ids", f"expected ints, got {ids!r}")
            )
            return []
        for value in values:
            if type(value) is not int or not INT64_MIN <= value <= INT64_MAX:
                problems.append(
                    InvalidPropertyTypeError(
                        event, "feature_enabled_by_namespace_ids", f"expected 64-bit ints, got {value!r}"
                    )
                )
                return [v for v in values if type(v) is int and INT64_MIN <= v <= INT64_MAX]
        return values

    def _unknown(self, event: object) -> TrackingError:
        if not isinstance(event, str):
            return UnknownEventError(repr(event), "event", "the event name must be a string")
        try:
            self.registry.event(event)
        except UnknownEventError as exc:
            return exc
        return UnknownEventError(event, "", "unknown event")  # pragma: no cover - spec is compiled


#: The wire attributes other than properties, by what :meth:`EventChecker.event_from_wire` reads.
_WIRE_FIELDS = {
    USER_ID: "user",
    PROJECT_ID: "project",
    NAMESPACE_ID: "namespace",
    CATEGORY: "category",
    FEATURE_ENABLED_BY_NAMESPACE_IDS: "feature_ids",
    SEND_SNOWPLOW: "send_snowplow",
    EVENT_NAME: "event",
}


def _plainly_storable(value: Any) -> bool:
    """A value the fast path may keep: ASCII text, a 64-bit int, a finite float (anything
    else, even if storable, goes to the full check)."""
    value_type = type(value)
    if value_type is str:
        return value.isascii()  # type: ignore[no-any-return]
    if value_type is int:
        return INT64_MIN <= value <= INT64_MAX  # type: ignore[no-any-return]
    return value_type is not float or value - value == 0.0
