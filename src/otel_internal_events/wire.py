"""The wire attributes of an event: written by the tracker, read back by every consumer.

:mod:`.conventions` names the attributes; this module is the one place that turns an event
into them (:func:`encode`) and them back into an event: :func:`decode` for attributes this
package validated (the in-process exporters), :func:`call_arguments` for attributes from
anywhere else (the gateway re-validates those before it decodes them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .conventions import (
    CATEGORY,
    EVENT_NAME,
    FEATURE_ENABLED_BY_NAMESPACE_IDS,
    NAMESPACE_ID,
    PROJECT_ID,
    PROPERTY_PREFIX,
    SEND_SNOWPLOW,
    USER_ID,
)

__all__ = [
    "IDENTIFIER_ATTRIBUTES",
    "CallArguments",
    "Identifier",
    "TrackedEvent",
    "call_arguments",
    "decode",
    "encode",
    "encode_event",
    "event_name",
    "property_attribute",
    "snowplow_indices",
]

Identifier = int | str
#: The attribute of each identifier a call can give.
IDENTIFIER_ATTRIBUTES: Final = {"user": USER_ID, "project": PROJECT_ID, "namespace": NAMESPACE_ID}


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


def property_attribute(name: str) -> str:
    """The attribute that carries additional property ``name``."""
    return PROPERTY_PREFIX + name


def encode(
    event: str,
    user_id: Identifier | None = None,
    project_id: Identifier | None = None,
    namespace_id: Identifier | None = None,
    properties: Mapping[str, Any] | None = None,
    feature_enabled_by_namespace_ids: Sequence[int] | None = None,
    category: str | None = None,
    send_snowplow: bool = True,
) -> dict[str, Any]:
    """The attributes of a validated event; what is None (or true, for ``send_snowplow``) is left out."""
    attributes: dict[str, Any] = {EVENT_NAME: event}
    if user_id is not None:
        attributes[USER_ID] = user_id
    if project_id is not None:
        attributes[PROJECT_ID] = project_id
    if namespace_id is not None:
        attributes[NAMESPACE_ID] = namespace_id
    if properties:
        for key, value in properties.items():
            attributes[PROPERTY_PREFIX + key] = value
    if feature_enabled_by_namespace_ids is not None:
        attributes[FEATURE_ENABLED_BY_NAMESPACE_IDS] = list(feature_enabled_by_namespace_ids)
    if category is not None:
        attributes[CATEGORY] = category
    if send_snowplow is False:
        attributes[SEND_SNOWPLOW] = False
    return attributes


def encode_event(event: TrackedEvent) -> dict[str, Any]:
    """The attributes of a validated event: :func:`encode` of its fields."""
    return encode(
        event.name,
        user_id=event.user_id,
        project_id=event.project_id,
        namespace_id=event.namespace_id,
        properties=event.properties,
        feature_enabled_by_namespace_ids=event.feature_enabled_by_namespace_ids or None,
        category=event.category,
        send_snowplow=event.send_snowplow,
    )


def event_name(name: str | None, attributes: Mapping[str, object]) -> str | None:
    """The event a record carries: its ``event_name``, else the event attribute; None if neither."""
    event = name or attributes.get(EVENT_NAME)
    return event if isinstance(event, str) and event else None


def decode(name: str | None, attributes: Mapping[str, object], timestamp_ns: int) -> TrackedEvent | None:
    """The event of attributes written by :func:`encode` after validation; None if not an event.

    Values of the wrong type are left out rather than checked: validated attributes have none.
    On the export thread's path for every event: the common attributes are read by name, the
    properties in one pass.
    """
    event = name or attributes.get(EVENT_NAME)
    if not event or type(event) is not str:
        return None
    properties = {
        key[_PREFIX_LENGTH:]: value
        for key, value in attributes.items()
        if key.startswith(PROPERTY_PREFIX) and isinstance(value, _SCALARS)
    }
    user = attributes.get(USER_ID)
    project = attributes.get(PROJECT_ID)
    namespace = attributes.get(NAMESPACE_ID)
    feature_ids = attributes.get(FEATURE_ENABLED_BY_NAMESPACE_IDS)
    category = attributes.get(CATEGORY)
    return TrackedEvent(
        event,
        timestamp_ns,
        user if type(user) is int or type(user) is str else _identifier(user),
        project if type(project) is int or type(project) is str else _identifier(project),
        namespace if type(namespace) is int or type(namespace) is str else _identifier(namespace),
        properties,
        category if type(category) is str else None,
        tuple(feature_ids) if isinstance(feature_ids, _SEQUENCES) else (),
        attributes.get(SEND_SNOWPLOW) is not False,
    )


@dataclass(slots=True)
class CallArguments:
    """The arguments of a tracking call, read from attributes that nobody has validated yet.

    Values are as they came (a mistyped one fails validation, as it would in a call), except
    that a whole float is an integer id: a JSON log line parsed by the Collector gives ``5.0``
    for the id 5.
    """

    user: Any = None
    project: Any = None
    namespace: Any = None
    additional_properties: dict[str, Any] = field(default_factory=dict)
    feature_enabled_by_namespace_ids: Any = None
    category: Any = None
    send_snowplow_event: Any = True


def call_arguments(attributes: Mapping[str, Any]) -> CallArguments:
    """What a call with these attributes would have passed; attributes not on the wire are ignored."""
    arguments = CallArguments(
        user=_whole(attributes.get(USER_ID)),
        project=_whole(attributes.get(PROJECT_ID)),
        namespace=_whole(attributes.get(NAMESPACE_ID)),
        category=attributes.get(CATEGORY),
    )
    for key, value in attributes.items():
        if key.startswith(PROPERTY_PREFIX):
            arguments.additional_properties[key[_PREFIX_LENGTH:]] = value
    feature_ids = attributes.get(FEATURE_ENABLED_BY_NAMESPACE_IDS)
    if feature_ids is not None:
        arguments.feature_enabled_by_namespace_ids = (
            [_whole(v) for v in feature_ids] if isinstance(feature_ids, _SEQUENCES) else feature_ids
        )
    send = attributes.get(SEND_SNOWPLOW)
    if send is not None:
        arguments.send_snowplow_event = send
    return arguments


def snowplow_indices(names: Sequence[str | None], attributes: Sequence[Mapping[str, object]]) -> list[int]:
    """The indices of the records that are events to send to Snowplow, told without decoding
    them (the rule :func:`decode` applies, a batch at a time)."""
    return [
        i
        for i, (name, attrs) in enumerate(zip(names, attributes, strict=True))
        if isinstance(event := name or attrs.get(EVENT_NAME), str) and event and attrs.get(SEND_SNOWPLOW) is not False
    ]


_PREFIX_LENGTH = len(PROPERTY_PREFIX)
_SCALARS = (str, int, float)
_SEQUENCES = (list, tuple)
_IDS = (int, str)


def _identifier(value: object) -> Identifier | None:
    return value if isinstance(value, _IDS) and not isinstance(value, bool) else None


def _whole(value: Any) -> Any:
    if type(value) is float and value.is_integer():
        return int(value)
    return value
