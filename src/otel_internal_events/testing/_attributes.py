"""The attributes a ``with_()`` expects of an event, and how a tracked event differs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..tracking import project_namespace
from ..wire import TrackedEvent

__all__ = ["differences", "expected_fields", "show_event", "show_fields"]


def expected_fields(given: Mapping[str, object]) -> dict[str, object]:
    project = given.get("project")
    namespace = _id(given["namespace"]) if "namespace" in given else _project_namespace(project)
    fields: dict[str, object] = {
        "user": _id(given.get("user")),
        "project": _id(project),
        "namespace": namespace,
        "additional_properties": dict(_mapping(given.get("additional_properties"))),
        "feature_enabled_by_namespace_ids": tuple(_ints(given.get("feature_enabled_by_namespace_ids"))),
    }
    if "category" in given:
        category = given["category"]
        fields["category"] = category.__qualname__ if isinstance(category, type) else category
    return fields


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
        "category": event.category,
    }


def differences(expected: Mapping[str, object], event: TrackedEvent) -> list[str]:
    tracked = tracked_fields(event)
    differences = []
    for field, want in expected.items():
        got = tracked[field]
        if field == "additional_properties":
            assert isinstance(want, dict) and isinstance(got, dict)
            differences.extend(_propertydifferences(want, got))
        elif got != want or type(got) is not type(want):
            differences.append(f"{field}: expected {want!r}, tracked {got!r}")
    return differences


def _propertydifferences(want: dict[str, object], got: dict[str, object]) -> list[str]:
    differences = []
    for key in sorted(want.keys() | got.keys()):
        field = f"additional_properties[{key!r}]"
        if key not in got:
            differences.append(f"{field}: expected {want[key]!r}, not tracked")
        elif key not in want:
            differences.append(f"{field}: not expected, tracked {got[key]!r}")
        elif got[key] != want[key] or isinstance(got[key], bool) is not isinstance(want[key], bool):
            differences.append(f"{field}: expected {want[key]!r}, tracked {got[key]!r}")
    return differences


def show_fields(fields: Mapping[str, object]) -> str:
    shown = [f"{k}={v!r}" for k, v in fields.items() if not (k == "feature_enabled_by_namespace_ids" and v == ())]
    return ", ".join(shown)


def show_event(event: TrackedEvent) -> str:
    fields = tracked_fields(event)
    if fields["category"] is None:
        del fields["category"]
    return f"{event.name}({show_fields(fields)})"
