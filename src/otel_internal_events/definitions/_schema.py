"""The JSON Schemas shipped with the package, and their errors in our words."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = ["event_schema", "field_path", "metric_schema", "schema_problems"]


def _load(name: str) -> dict[str, Any]:
    text = resources.files(__package__).joinpath("schemas", name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def event_schema() -> dict[str, Any]:
    """The JSON Schema of an event definition file."""
    return _load("event.schema.json")


@cache
def metric_schema() -> dict[str, Any]:
    """The JSON Schema of a metric definition file."""
    return _load("metric.schema.json")


@cache
def _validator(kind: str) -> Draft202012Validator:
    schema = event_schema() if kind == "event" else metric_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _fast_check(kind: str) -> Callable[[Any], bool]:
    """A compiled validity check (jsonschema-rs, about 50x faster) for the common, valid case."""
    schema = event_schema() if kind == "event" else metric_schema()
    check: Callable[[Any], bool] = jsonschema_rs.validator_for(schema).is_valid
    return check


def field_path(parts: Sequence[str | int]) -> str:
    """``['events', 0, 'unique']`` -> ``events[0].unique``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def schema_problems(kind: str, document: Mapping[str, Any]) -> Iterator[tuple[list[str | int], str]]:
    """Yield ``(field path, message)`` for every schema violation of ``document``."""
    try:
        if _fast_check(kind)(document):
            return
    except (TypeError, ValueError):
        pass  # a value JSON has no type for (a YAML date): the explanatory validator names it
    # Only an invalid document pays for the explanatory validator.
    # jsonschema gives one `required` error per missing key and _explain names every missing
    # key of the list each time: report each (field, message) once.
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for error in _validator(kind).iter_errors(document):
        for parts, message in _explain(error):
            if (tuple(parts), message) not in seen:
                seen.add((tuple(parts), message))
                yield parts, message


def _explain(error: ValidationError) -> Iterator[tuple[list[str | int], str]]:
    path = list(error.absolute_path)
    instance, validator = error.instance, error.validator
    if "propertyNames" in error.absolute_schema_path:
        yield [*path, str(instance)], f"invalid name {instance!r}: names must match ^[a-z0-9_]+$"
        return
    value: Any = error.validator_value
    schema: Any = error.schema
    if validator == "additionalProperties" and isinstance(instance, dict):
        known = sorted(schema.get("properties", {}))
        for key in sorted(set(instance) - set(known)):
            hint = difflib.get_close_matches(key, known, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            yield [*path, key], f"unknown field{suggestion}"
    elif validator == "required" and isinstance(instance, dict):
        for key in value:
            if key not in instance:
                yield [*path, key], "required field is missing"
    elif validator == "oneOf" and error.context:
        # time_frame: report the branch that matched the value's shape (list or scalar).
        best = [e for e in error.context if not _wrong_shape(e)] or list(error.context)
        yield from _explain(best[0])
    elif validator == "not" and isinstance(instance, dict):
        forbidden = value.get("required", [])
        for key in forbidden:
            yield [*path, key], "not allowed with data_source: internal_events"
    elif validator == "enum":
        allowed = ", ".join(str(v) for v in value)
        yield path, f"{instance!r} is not one of: {allowed}"
    elif validator == "type":
        expected = value
        if isinstance(expected, list):
            expected = " or ".join(t for t in expected if t != "null")
        yield path, f"expected {expected}, got {_type_name(instance)} {instance!r}"
    elif validator == "const":
        yield path, f"must be {json.dumps(value)}, got {instance!r}"
    elif validator == "pattern":
        yield path, f"{instance!r} does not match {value}"
    elif validator == "propertyNames":
        yield path, f"invalid name {instance!r}: {error.message}"
    else:
        yield path, error.message


def _wrong_shape(error: ValidationError) -> bool:
    """The branch wants a scalar and got a list (``enum`` of strings), or the reverse (``type``)."""
    if error.validator == "type":
        return True
    return (
        error.validator == "enum"
        and isinstance(error.instance, list)
        and not any(isinstance(v, list) for v in error.validator_value)  # type: ignore[union-attr]
    )


def _type_name(value: object) -> str:
    names = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
