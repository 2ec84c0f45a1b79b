"""The attributes a ``with_()`` expects of an event, and how a tracked event differs.

The comparison follows GitLab's ``trigger_internal_events``, which checks each call on its way
to Snowplow: identifiers, ``feature_enabled_by_namespace_ids`` and the custom additional
properties (Snowplow's ``extra``) must be equal; ``label``, ``property`` and ``value`` are
checked only when given; the category is the one given, else the described class's name, else
Snowplow's default; and an event kept from Snowplow (``send_snowplow_event=False``) never
matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..sinks import DEFAULT_CATEGORY
from ..tracking import project_namespace
from ..wire import TrackedEvent

__all__ = [
    "BASE_PROPERTIES",
    "DEFAULT_CATEGORY",
    "category_name",
    "default_fields",
    "differences",
    "expected_fields",
    "show_event",
    "show_fields",
]

#: The additional properties Snowplow carries in its own fields: checked only when expected.
BASE_PROPERTIES = ("label", "property", "value")


def category_name(category: object) -> str:
    """The category a ``category=`` (or described class) stands for: a class means its name."""
    if category is None:
        return DEFAULT_CATEGORY
    return category.__qualname__ if isinstance(category, type) else str(category)


def default_fields() -> dict[str, object]:
    """What GitLab checks without ``with``: a Snowplow call with the default category."""
    return {"category": DEFAULT_CATEGORY, "send_snowplow_event": True}


def expected_fields(given: Mapping[str, object], described_class: object = None) -> dict[str, object]:
    """The fields an event must have for ``with_(**given)``; raises TypeError on a wrong kind of value."""
    project = given.get("project")
    namespace = _id(given["namespace"]) if "namespace" in given else _project_namespace(project)
    category = given.get("category", described_class)
    return {
        "user": _id(given.get("user")),
        "project": _id(project),
        "namespace": namespace,
        "additional_properties": dict(_mapping(given.get("additional_properties"))),
        "feature_enabled_by_namespace_ids": tuple(_ints(given.get("feature_enabled_by_namespace_ids"))),
        "category": category_name(category),
        "send_snowplow_event": True,
    }


def _id(value: object) -> object:
    if value is None or isinstance(value, int | str):
        return value
    return getattr(value, "id", value)


def _project_namespace(project: object) -> object:
    """The namespace the tracker derives from a project (the same function)."""
    if project is None or isinstance(project, int | str):
        return None
    return project_namespace("", project)


def _mapping(value: object) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"additional_properties must be a mapping, got {value!r}")
    return value


def _ints(value: object) -> Iterable[object]:
    if value is None:
        return ()
    if not isinstance(value, Iterable):
        raise TypeError(f"feature_enabled_by_namespace_ids must be an iterable of ints, got {value!r}")
    return value


def tracked_fields(event: TrackedEvent) -> dict[str, object]:
    return {
        "user": event.user_id,
        "project": event.project_id,
        "namespace": event.namespace_id,
        "additional_properties": dict(event.properties),
        "feature_enabled_by_namespace_ids": tuple(event.feature_enabled_by_namespace_ids),
        "category": category_name(event.category),
        "send_snowplow_event": event.send_snowplow,
    }


def differences(expected: Mapping[str, object], event: TrackedEvent) -> list[str]:
    """How ``event`` differs from the ``expected`` fields, one text per field; empty if it matches."""
    tracked = tracked_fields(event)
    differences = []
    for field, want in expected.items():
        got = tracked[field]
        if field == "additional_properties":
            assert isinstance(want, dict) and isinstance(got, dict)
            differences.extend(_property_differences(want, got))
        elif not _equal(want, got):
            differences.append(f"{field}: expected {want!r}, tracked {got!r}")
    return differences


def _property_differences(want: dict[str, object], got: dict[str, object]) -> list[str]:
    # Base properties are checked only when expected (GitLab: ``include(**slice.compact)``);
    # the others form Snowplow's ``extra``, which must be equal as a whole.
    keys = {k for k, v in want.items() if k not in BASE_PROPERTIES or v is not None}
    keys |= {k for k in got if k not in BASE_PROPERTIES}
    differences = []
    for key in sorted(keys):
        field = f"additional_properties[{key!r}]"
        if key not in got:
            differences.append(f"{field}: expected {want[key]!r}, not tracked")
        elif key not in want:
            differences.append(f"{field}: not expected, tracked {got[key]!r}")
        elif not _equal(want[key], got[key]):
            differences.append(f"{field}: expected {want[key]!r}, tracked {got[key]!r}")
    return differences


def _equal(want: object, got: object) -> bool:
    # As Ruby's ==: 12 == 12.0, but true is not 1.
    return want == got and isinstance(want, bool) is isinstance(got, bool)


def show_fields(fields: Mapping[str, object]) -> str:
    shown = [
        f"{k}={v!r}"
        for k, v in fields.items()
        if not (k == "feature_enabled_by_namespace_ids" and v == ()) and k != "send_snowplow_event"
    ]
    return ", ".join(shown)


def show_event(event: TrackedEvent) -> str:
    fields = tracked_fields(event)
    if event.category is None:
        del fields["category"]
    if event.send_snowplow:
        del fields["send_snowplow_event"]
    shown = [f"{k}={v!r}" for k, v in fields.items() if not (k == "feature_enabled_by_namespace_ids" and v == ())]
    return f"{event.name}({', '.join(shown)})"
