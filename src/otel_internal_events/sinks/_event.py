"""The validated event every sink consumes, whatever carried it (in-process, OTLP, HTTP)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..conventions import (
    CATEGORY,
    EVENT_NAME,
    FEATURE_ENABLED_BY_NAMESPACE_IDS,
    NAMESPACE_ID,
    PROJECT_ID,
    PROPERTY_PREFIX,
    SEND_SNOWPLOW,
    USER_ID,
)

__all__ = ["Identifier", "TrackedEvent", "event_from_attributes"]

Identifier = int | str


@dataclass(slots=True)
class TrackedEvent:
    """One tracked event, after validation (treat it as read-only; not frozen, for speed).

    ``properties`` holds only declared additional properties; identifiers are plain ids.
    ``timestamp_ns`` is when the event happened, which decides its ISO week.
    """

    name: str
    timestamp_ns: int
    user_id: Identifier | None = None
    project_id: Identifier | None = None
    namespace_id: Identifier | None = None
    properties: Mapping[str, str | int | float] = field(default_factory=dict)
    category: str | None = None
    feature_enabled_by_namespace_ids: tuple[int, ...] = ()
    send_snowplow: bool = True


def event_from_attributes(name: str | None, attributes: Mapping[str, object], timestamp_ns: int) -> TrackedEvent | None:
    """Decode the attributes the recorder wrote (see :mod:`..conventions`); None if not ours."""
    event = _event_name(name, attributes)
    if event is None:
        return None
    properties: dict[str, str | int | float] = {}
    for key, value in attributes.items():
        if key.startswith(PROPERTY_PREFIX) and isinstance(value, _SCALARS):
            properties[key[_PREFIX_LENGTH:]] = value
    feature_ids = attributes.get(FEATURE_ENABLED_BY_NAMESPACE_IDS)
    category = attributes.get(CATEGORY)
    return TrackedEvent(
        name=event,
        timestamp_ns=timestamp_ns,
        user_id=_identifier(attributes.get(USER_ID)),
        project_id=_identifier(attributes.get(PROJECT_ID)),
        namespace_id=_identifier(attributes.get(NAMESPACE_ID)),
        properties=properties,
        category=category if isinstance(category, str) else None,
        feature_enabled_by_namespace_ids=tuple(feature_ids) if isinstance(feature_ids, _SEQUENCES) else (),
        send_snowplow=attributes.get(SEND_SNOWPLOW) is not False,
    )


def for_snowplow(names: Sequence[str | None], attributes: Sequence[Mapping[str, object]]) -> list[int]:
    """The indices of the records that are internal events to send to Snowplow, told without
    decoding them (the rule :func:`event_from_attributes` applies, a batch at a time)."""
    return [
        i
        for i, (name, attrs) in enumerate(zip(names, attributes, strict=True))
        if isinstance(event := name or attrs.get(EVENT_NAME), str) and event and attrs.get(SEND_SNOWPLOW) is not False
    ]


def _event_name(name: str | None, attributes: Mapping[str, object]) -> str | None:
    event = name or attributes.get(EVENT_NAME)
    return event if isinstance(event, str) and event else None


_PREFIX_LENGTH = len(PROPERTY_PREFIX)
_SCALARS = (str, int, float)
_SEQUENCES = (list, tuple)
_IDS = (int, str)


def _identifier(value: object) -> Identifier | None:
    return value if isinstance(value, _IDS) and not isinstance(value, bool) else None
