"""Per-call validation, precompiled per event so that a valid call costs a few dict lookups."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..conventions import PROPERTY_PREFIX
from ..definitions import IDENTIFIERS, DefinitionRegistry
from ..errors import (
    InvalidPropertyError,
    InvalidPropertyTypeError,
    InvalidPropertyValueError,
    MissingIdentifierError,
    TrackingError,
)

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "KIND_TYPES",
    "EventSpec",
    "compile_specs",
    "identifier_of",
    "project_namespace",
    "property_problem",
    "unstorable",
]

_MISSING = object()
Matcher = Callable[[Mapping[str, object]], bool]


@dataclass(frozen=True, slots=True)
class EventSpec:
    """What a call of one event may carry, and must."""

    name: str
    #: property name -> (attribute name, type: "string", "number" or "any")
    properties: Mapping[str, tuple[str, str]]
    #: (identifier, filter matchers) for each identifier a metric counts the event by uniquely.
    #: The call must give it when a matcher is None (no filter) or any matcher accepts the
    #: call's properties: a filtered unique metric needs the identifier only for calls it counts.
    required_identifiers: tuple[tuple[str, tuple[Matcher | None, ...]], ...]
    declared: str
    #: attribute name -> (property name, the Python types its kind takes), for reading the wire
    by_attribute: Mapping[str, tuple[str, frozenset[type]]]

    def undeclared(self, key: str) -> TrackingError:
        return InvalidPropertyError(
            self.name,
            f"additional_properties.{key}",
            f"property is not declared by the event (declared: {self.declared})",
        )

    def missing(self, identifier: str) -> TrackingError:
        return MissingIdentifierError(
            self.name,
            identifier,
            f"a metric counts this event by unique {identifier}.id, but no {identifier} was given",
        )


def compile_specs(registry: DefinitionRegistry) -> dict[str, EventSpec]:
    """One :class:`EventSpec` per event of ``registry``."""
    specs = {}
    for name, event in registry.events.items():
        properties = {key: (PROPERTY_PREFIX + key, prop.type) for key, prop in event.additional_properties.items()}
        specs[name] = EventSpec(
            name=name,
            properties=properties,
            required_identifiers=_required_identifiers(registry, name),
            declared=", ".join(sorted(properties)) or "none",
            by_attribute={attribute: (key, KIND_TYPES[kind]) for key, (attribute, kind) in properties.items()},
        )
    return specs


def _required_identifiers(
    registry: DefinitionRegistry, event: str
) -> tuple[tuple[str, tuple[Matcher | None, ...]], ...]:
    matchers: dict[str, dict[Matcher | None, None]] = {}
    for rule in registry.rules_for(event):
        if rule.unique in IDENTIFIERS:
            matchers.setdefault(rule.unique, {})[rule.matches if rule.filter else None] = None
    return tuple((identifier, tuple(found)) for identifier, found in sorted(matchers.items()))


#: The exact Python types of the values each property kind takes (bool is not a number).
KIND_TYPES: Mapping[str, frozenset[type]] = {
    "string": frozenset({str}),
    "number": frozenset({int, float}),
    "any": frozenset({str, int, float}),
}


#: The integers Redis and OTLP carry (64 bits, signed).
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def unstorable(value: Any) -> str | None:
    """Why a string, int or float cannot be stored (None when it can): text that does not
    encode to UTF-8 (a lone surrogate), an integer outside 64 bits, NaN or an infinity."""
    value_type = type(value)
    if value_type is str:
        if value.isascii():
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text that is not valid Unicode (a lone surrogate)"
        return None
    if value_type is int:
        return None if INT64_MIN <= value <= INT64_MAX else "an integer outside 64 bits"
    if value_type is float:
        return None if value - value == 0.0 else "a number that is not finite"
    return None


def property_problem(event: str, key: str, kind: str, value: Any) -> TrackingError | None:
    """None when ``value`` fits the declared ``kind`` and can be stored; else the typed error."""
    value_type = type(value)
    # Spelt out rather than KIND_TYPES[kind]: this runs for every property of every call.
    if kind == "string":
        if value_type is str:
            return None if value.isascii() else _value_problem(event, f"additional_properties.{key}", value)
        expected = "a string"
    elif kind == "number":
        if value_type is int or value_type is float:
            return _value_problem(event, f"additional_properties.{key}", value)
        expected = "a number"
    else:
        if value_type is str or value_type is int or value_type is float:
            return _value_problem(event, f"additional_properties.{key}", value)
        expected = "a string or a number"
    return InvalidPropertyTypeError(
        event, f"additional_properties.{key}", f"expected {expected}, got {value_type.__name__} {value!r}"
    )


def _value_problem(event: str, field: str, value: Any) -> TrackingError | None:
    reason = unstorable(value)
    return None if reason is None else InvalidPropertyValueError(event, field, f"{reason}: {value!r}")


def identifier_of(event: str, name: str, value: Any) -> int | str | None:
    """The id of ``user``/``project``/``namespace``: a plain id, or an object's ``id``."""
    if value is None:
        return None
    value_type = type(value)
    if value_type is int:
        if INT64_MIN <= value <= INT64_MAX:
            return value  # type: ignore[no-any-return]
        return _id_value_problem(event, name, value)
    if value_type is str:
        return value if value.isascii() else _id_value_problem(event, name, value)
    if value_type is not bool:
        ident: Any = getattr(value, "id", _MISSING)
        ident_type = type(ident)
        if ident_type is int:
            return ident if INT64_MIN <= ident <= INT64_MAX else _id_value_problem(event, name, ident)
        if ident_type is str:
            return ident if ident.isascii() else _id_value_problem(event, name, ident)
        if isinstance(value, int) and not isinstance(value, bool):
            return identifier_of(event, name, int(value))
    raise InvalidPropertyTypeError(
        event,
        name,
        f"expected an id (int or str) or an object with an id, got {value_type.__name__} {value!r}",
    )


def _id_value_problem(event: str, name: str, value: int | str) -> int | str:
    """``value`` when it can be stored after all (non-ASCII text); else raise its typed error."""
    problem = _value_problem(event, name, value)
    if problem is not None:
        raise problem
    return value


def project_namespace(event: str, project: Any) -> int | str | None:
    """The namespace id of a project object, as GitLab derives it when none is given.

    ``namespace_id`` first: with an ORM, ``project.namespace`` may be a lazy relation whose
    read is a database query; ``namespace`` (an object with an id, or an id) otherwise.
    """
    for attribute in ("namespace_id", "namespace"):
        value = getattr(project, attribute, None)
        if value is not None:
            try:
                return identifier_of(event, "project.namespace", value)
            except TrackingError:
                return None
    return None
