"""``track_event``: validate one call, build its attributes, hand it to the recorder.

Production mode never raises into the host: a problem is logged once per (event, reason),
counted in ``internal_events.rejected{event,reason}``, and handled as GitLab does (unknown
event: nothing recorded; undeclared or mistyped property: dropped, event kept; missing
identifier: event kept, the unique rule skipped). Strict mode raises the typed error instead,
before anything is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.metrics import Meter

from .._once import LogOnce
from ..conventions import (
    CATEGORY,
    EVENT_NAME,
    FEATURE_ENABLED_BY_NAMESPACE_IDS,
    NAMESPACE_ID,
    PROJECT_ID,
    REJECTED_COUNTER,
    SEND_SNOWPLOW,
    USER_ID,
)
from ..definitions import DefinitionRegistry
from ..errors import InvalidPropertyTypeError, TrackingError, UnknownEventError
from ..recording import Attributes, EventRecorder
from ._validator import EventSpec, compile_specs, identifier_of, project_namespace, property_problem

__all__ = ["Tracker"]

_log = logging.getLogger("otel_internal_events")


class Tracker:
    """Validates and records tracking calls against one definition registry."""

    def __init__(
        self,
        registry: DefinitionRegistry,
        recorder: EventRecorder,
        meter: Meter,
        *,
        strict: bool,
        clock: Callable[[], int],
    ) -> None:
        self.registry = registry
        self.strict = strict
        self._recorder = recorder
        self._clock = clock
        self._specs = compile_specs(registry)
        self._rejected = meter.create_counter(
            REJECTED_COUNTER,
            unit="{call}",
            description="Tracking calls rejected in whole or in part, by event and reason.",
        )
        self._once = LogOnce(_log, suffix="")

    def track(
        self,
        event: str,
        *,
        user: Any = None,
        namespace: Any = None,
        project: Any = None,
        additional_properties: Mapping[str, Any] | None = None,
        feature_enabled_by_namespace_ids: Iterable[int] | None = None,
        category: str | None = None,
        send_snowplow_event: bool = True,
    ) -> None:
        """Validate and record one event; see the module docstring for what happens on problems."""
        try:
            self._track(
                event,
                user,
                namespace,
                project,
                additional_properties,
                feature_enabled_by_namespace_ids,
                category,
                send_snowplow_event,
            )
        except TrackingError as problem:
            if self.strict:
                raise
            self._report(problem, problem.reason)
        except Exception as exc:
            if self.strict:
                raise
            self._report(TrackingError(str(event), "", f"internal error: {exc!r}"), "internal_error")

    def _track(
        self,
        event: str,
        user: Any,
        namespace: Any,
        project: Any,
        additional_properties: Mapping[str, Any] | None,
        feature_ids: Iterable[int] | None,
        category: str | None,
        send_snowplow: bool,
    ) -> None:
        spec = self._specs.get(event)
        if spec is None:
            self._problem(self._unknown(event))
            return
        attributes: Attributes = {EVENT_NAME: event}
        user_id = self._identifier(event, "user", user)
        project_id = self._identifier(event, "project", project)
        namespace_id = self._identifier(event, "namespace", namespace)
        if namespace_id is None and project is not None and project_id is not None:
            namespace_id = project_namespace(event, project)
        if user_id is not None:
            attributes[USER_ID] = user_id
        if project_id is not None:
            attributes[PROJECT_ID] = project_id
        if namespace_id is not None:
            attributes[NAMESPACE_ID] = namespace_id
        properties = self._properties(spec, additional_properties, attributes) if additional_properties else {}
        for identifier, matchers in spec.required_identifiers:
            if attributes.get(_IDENTIFIER_ATTRIBUTES[identifier]) is None and any(
                matcher is None or matcher(properties) for matcher in matchers
            ):
                self._problem(spec.missing(identifier))
        if feature_ids is not None:
            attributes[FEATURE_ENABLED_BY_NAMESPACE_IDS] = self._feature_ids(event, feature_ids)
        if category is not None:
            if type(category) is not str:
                self._problem(InvalidPropertyTypeError(event, "category", f"expected a string, got {category!r}"))
            else:
                attributes[CATEGORY] = category
        if send_snowplow is False:
            attributes[SEND_SNOWPLOW] = False
        self._recorder.record(event, attributes, self._clock())

    def _properties(self, spec: EventSpec, properties: Mapping[str, Any], attributes: Attributes) -> dict[str, Any]:
        """Copy the valid properties into ``attributes``; return them (by their own names)."""
        valid = {}
        declared = spec.properties
        for key, value in properties.items():
            found = declared.get(key)
            if found is None:
                self._problem(spec.undeclared(str(key)))
                continue
            attribute, kind = found
            problem = property_problem(spec.name, key, kind, value)
            if problem is not None:
                self._problem(problem)
                continue
            attributes[attribute] = value
            valid[key] = value
        return valid

    def _identifier(self, event: str, name: str, value: Any) -> int | str | None:
        try:
            return identifier_of(event, name, value)
        except TrackingError as problem:
            self._problem(problem)
            return None

    def _feature_ids(self, event: str, ids: Iterable[int]) -> list[int]:
        values = list(ids)
        for value in values:
            if type(value) is not int:
                self._problem(
                    InvalidPropertyTypeError(event, "feature_enabled_by_namespace_ids", f"expected ints, got {value!r}")
                )
                return [v for v in values if type(v) is int]
        return values

    def _unknown(self, event: object) -> TrackingError:
        if not isinstance(event, str):
            return UnknownEventError(repr(event), "event", "the event name must be a string")
        try:
            self.registry.event(event)
        except UnknownEventError as exc:
            return exc
        return UnknownEventError(event, "", "unknown event")  # pragma: no cover - spec is compiled

    def _problem(self, problem: TrackingError) -> None:
        if self.strict:
            raise problem
        self._report(problem, problem.reason)

    def _report(self, problem: TrackingError, reason: str) -> None:
        self._rejected.add(1, {"event": problem.event, "reason": reason})
        self._once.warn(
            f"{problem.event}\0{reason}", "internal event rejected (logged once per event and reason): %s", problem
        )


_IDENTIFIER_ATTRIBUTES = {"user": USER_ID, "project": PROJECT_ID, "namespace": NAMESPACE_ID}
