"""OTLP/JSON bodies: log records and span events as :class:`WireRecord`.

The OTLP/HTTP JSON encoding is protobuf's JSON mapping with lowerCamelCase keys (proto field names
are read too), 64-bit integers as numbers or decimal strings, enums as integers, and trace ids in
hex (base64, protobuf's own mapping, is read too). Unknown fields are ignored; a field of the
wrong type raises :class:`OtlpDecodeError` naming its place, e.g.
``$.resourceLogs[0].scopeLogs[0].logRecords[3].timeUnixNano``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

from ._otlp_records import OtlpDecodeError, WireRecord

__all__ = ["json_logs", "json_span_events"]


def json_logs(body: bytes) -> list[WireRecord]:
    """Every log record of an ``ExportLogsServiceRequest`` in JSON."""
    return list(_json_logs(_json(body)))


def json_span_events(body: bytes) -> list[WireRecord]:
    """Every span event of an ``ExportTraceServiceRequest`` in JSON."""
    return list(_json_span_events(_json(body)))


def _json(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OtlpDecodeError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise OtlpDecodeError("the body must be a JSON object")
    return document


def _field(message: dict[str, Any], camel: str, snake: str, path: str, kind: type = list) -> Any:
    """A field of a JSON message by either name; its default when absent; 400 when mistyped."""
    value = message.get(camel)
    if value is None:
        value = message.get(snake)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise OtlpDecodeError(f"{path}.{camel}: expected {'an array' if kind is list else 'an object'}")
    return value


def _objects(message: dict[str, Any], camel: str, snake: str, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for index, item in enumerate(_field(message, camel, snake, path)):
        where = f"{path}.{camel}[{index}]"
        if not isinstance(item, dict):
            raise OtlpDecodeError(f"{where}: expected an object")
        yield where, item


def _json_logs(document: dict[str, Any]) -> Iterator[WireRecord]:
    for path, resource_logs in _objects(document, "resourceLogs", "resource_logs", "$"):
        for scope_path, scope_logs in _objects(resource_logs, "scopeLogs", "scope_logs", path):
            scope = _scope_name(scope_logs, scope_path)
            for where, record in _objects(scope_logs, "logRecords", "log_records", scope_path):
                name = _string(record, "eventName", "event_name", where)
                yield WireRecord(
                    name or None,
                    _json_attributes(record, where),
                    _uint(record, "timeUnixNano", "time_unix_nano", where)
                    or _uint(record, "observedTimeUnixNano", "observed_time_unix_nano", where),
                    _trace_id(record, where),
                    scope,
                )


def _json_span_events(document: dict[str, Any]) -> Iterator[WireRecord]:
    for path, resource_spans in _objects(document, "resourceSpans", "resource_spans", "$"):
        for scope_path, scope_spans in _objects(resource_spans, "scopeSpans", "scope_spans", path):
            scope = _scope_name(scope_spans, scope_path)
            for span_path, span in _objects(scope_spans, "spans", "spans", scope_path):
                trace_id = _trace_id(span, span_path)
                start = _uint(span, "startTimeUnixNano", "start_time_unix_nano", span_path)
                for where, event in _objects(span, "events", "events", span_path):
                    yield WireRecord(
                        _string(event, "name", "name", where) or None,
                        _json_attributes(event, where),
                        _uint(event, "timeUnixNano", "time_unix_nano", where) or start,
                        trace_id,
                        scope,
                    )


def _scope_name(message: dict[str, Any], path: str) -> str:
    scope = _field(message, "scope", "scope", path, dict)
    return _string(scope, "name", "name", f"{path}.scope")


def _string(message: dict[str, Any], camel: str, snake: str, path: str) -> str:
    value = message.get(camel, message.get(snake, ""))
    if not isinstance(value, str):
        raise OtlpDecodeError(f"{path}.{camel}: expected a string")
    return value


def _uint(message: dict[str, Any], camel: str, snake: str, path: str) -> int:
    value = message.get(camel, message.get(snake, 0))
    try:
        number = _int64(value)
    except ValueError:
        raise OtlpDecodeError(f"{path}.{camel}: expected an unsigned integer, got {value!r}") from None
    if number < 0:
        raise OtlpDecodeError(f"{path}.{camel}: expected an unsigned integer, got {value!r}")
    return number


def _int64(value: Any) -> int:
    """A protobuf JSON 64-bit integer: a number or a decimal string."""
    if type(value) is int:
        return value
    if type(value) is str:
        return int(value)
    if type(value) is float and value.is_integer():
        return int(value)
    raise ValueError(value)


def _trace_id(message: dict[str, Any], path: str) -> int:
    value = message.get("traceId", message.get("trace_id", ""))
    if not value:
        return 0
    if not isinstance(value, str):
        raise OtlpDecodeError(f"{path}.traceId: expected a hex string")
    try:
        return int(value, 16) if len(value) == 32 else int.from_bytes(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        raise OtlpDecodeError(f"{path}.traceId: expected 32 hex digits, got {value!r}") from None


def _json_attributes(message: dict[str, Any], path: str) -> dict[str, Any]:
    attributes = {}
    for where, pair in _objects(message, "attributes", "attributes", path):
        key = pair.get("key")
        if not isinstance(key, str):
            raise OtlpDecodeError(f"{where}.key: expected a string")
        value = pair.get("value")
        found = None if value is None else _json_value(value, f"{where}.value")
        if found is not None:  # an empty AnyValue, as protobuf's: no attribute
            attributes[key] = found
    return attributes


def _json_value(value: Any, path: str) -> Any:
    """An ``AnyValue`` in JSON; an empty or unknown one is None."""
    if not isinstance(value, dict):
        raise OtlpDecodeError(f"{path}: expected an AnyValue object")
    for key, found in value.items():
        kind = _ANY_VALUE_KINDS.get(key)
        if kind is None:
            continue
        try:
            return _convert(kind, found, path)
        except (ValueError, TypeError, binascii.Error):
            raise OtlpDecodeError(f"{path}.{key}: {found!r} is not a valid {kind}") from None
    return None


def _convert(kind: str, found: Any, path: str) -> Any:
    if kind == "string":
        if not isinstance(found, str):
            raise TypeError(found)
        return found
    if kind == "bool":
        if not isinstance(found, bool):
            raise TypeError(found)
        return found
    if kind == "int":
        if type(found) is bool:
            raise TypeError(found)
        return _int64(found)
    if kind == "double":
        if type(found) in (int, float):
            return float(found)
        if found in ("NaN", "Infinity", "-Infinity"):
            return float(found.replace("Infinity", "inf"))
        raise TypeError(found)
    if kind == "bytes":
        return base64.b64decode(found, validate=True)
    if kind == "array":
        values = found.get("values", []) if isinstance(found, dict) else None
        if not isinstance(values, list):
            raise TypeError(found)
        return [_json_value(v, f"{path}.values[{i}]") for i, v in enumerate(values)]
    if not isinstance(found, dict):
        raise TypeError(found)
    return _json_attributes({"attributes": found.get("values", [])}, path)


_ANY_VALUE_KINDS = {
    "stringValue": "string",
    "string_value": "string",
    "boolValue": "bool",
    "bool_value": "bool",
    "intValue": "int",
    "int_value": "int",
    "doubleValue": "double",
    "double_value": "double",
    "bytesValue": "bytes",
    "bytes_value": "bytes",
    "arrayValue": "array",
    "array_value": "array",
    "kvlistValue": "kvlist",
    "kvlist_value": "kvlist",
}
