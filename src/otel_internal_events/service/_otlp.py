"""OTLP/HTTP bodies: log records and span events in, export responses and errors out.

Framework-free. Both encodings of the OTLP/HTTP specification are read: binary protobuf
(``application/x-protobuf``) with the opentelemetry-proto classes, and JSON
(``application/json``: lowerCamelCase or proto field names, 64-bit integers as numbers or
strings, trace ids in hex). A body may be gzip-compressed (``Content-Encoding: gzip``). What
comes out is :class:`WireRecord`: an event name (the record's ``event_name`` or a span event's
name), its attributes as Python values, its time and trace id. Which of them are internal
events is not decided here.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = [
    "JSON",
    "PROTOBUF",
    "BodyTooLargeError",
    "OtlpDecodeError",
    "UnsupportedMediaTypeError",
    "WireRecord",
    "decode_logs",
    "decode_spans",
    "export_response",
    "media_type",
    "read_body",
    "status_body",
]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class WireRecord(NamedTuple):
    """A log record or span event as received: ``event_name`` is None when the record has none."""

    event_name: str | None
    attributes: dict[str, Any]
    timestamp_ns: int
    trace_id: int
    scope: str


class OtlpDecodeError(ValueError):
    """The body is not a valid OTLP export request (400)."""


class UnsupportedMediaTypeError(ValueError):
    """A content type or content encoding the receiver does not read (415)."""


class BodyTooLargeError(ValueError):
    """The body, or what it inflates to, is over the limit (413)."""


def media_type(content_type: str | None) -> str:
    """The OTLP encoding named by a Content-Type header; raises :class:`UnsupportedMediaTypeError`."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in (PROTOBUF, JSON):
        return kind
    raise UnsupportedMediaTypeError(
        f"unsupported content type {content_type!r}: send {PROTOBUF} or {JSON}"
        if content_type
        else f"no content type: send {PROTOBUF} or {JSON}"
    )


def read_body(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """The request body, inflated when gzip-compressed, at most ``max_bytes`` either way."""
    if len(body) > max_bytes:
        raise BodyTooLargeError(f"the body is {len(body)} bytes, over the limit of {max_bytes}")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedMediaTypeError(f"unsupported content encoding {content_encoding!r}: send gzip or none")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise OtlpDecodeError(f"the gzip body cannot be inflated: {exc}") from None
    if len(inflated) > max_bytes or inflater.unconsumed_tail:
        raise BodyTooLargeError(f"the body inflates to over the limit of {max_bytes} bytes")
    if not inflater.eof:
        raise OtlpDecodeError("the gzip body is truncated")
    return inflated


def decode_logs(body: bytes, kind: str) -> list[WireRecord]:
    """Every log record of an ``ExportLogsServiceRequest`` (an empty body is an empty request);
    raises :class:`OtlpDecodeError`."""
    if not body:
        return []
    if kind == PROTOBUF:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        request = _parse(ExportLogsServiceRequest, body)
        return list(_proto_logs(request))
    return list(_json_logs(_json(body)))


def decode_spans(body: bytes, kind: str) -> list[WireRecord]:
    """Every span event of an ``ExportTraceServiceRequest`` (an empty body is an empty request);
    raises :class:`OtlpDecodeError`."""
    if not body:
        return []
    if kind == PROTOBUF:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        request = _parse(ExportTraceServiceRequest, body)
        return list(_proto_span_events(request))
    return list(_json_span_events(_json(body)))


def export_response(signal: str, kind: str, rejected: int = 0, message: str = "") -> bytes:
    """The success body for ``signal`` (``logs`` or ``traces``), with a partial success when
    records were rejected or there is a warning to give."""
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

        response: Any = ExportLogsServiceResponse()
        partial: Any = response.partial_success
        count_field = "rejected_log_records"
    else:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        response = ExportTraceServiceResponse()
        partial = response.partial_success
        count_field = "rejected_spans"
    if rejected or message:
        setattr(partial, count_field, rejected)
        partial.error_message = message
    return _encode(response, kind)


def status_body(code: int, message: str, kind: str) -> bytes:
    """A ``google.rpc.Status`` body for a failed request, in the request's encoding."""
    from google.rpc.status_pb2 import Status

    return _encode(Status(code=code, message=message), kind)


def _encode(message: Any, kind: str) -> bytes:
    if kind == PROTOBUF:
        return bytes(message.SerializeToString())
    from google.protobuf.json_format import MessageToJson

    return str(MessageToJson(message, indent=None)).encode("utf-8")


def _parse(message_type: Any, body: bytes) -> Any:
    from google.protobuf.message import DecodeError

    request = message_type()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise OtlpDecodeError(f"the body is not a valid {message_type.__name__} in protobuf: {exc}") from None
    return request


# --- protobuf -------------------------------------------------------------------------------


def _proto_logs(request: Any) -> Iterator[WireRecord]:
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                yield WireRecord(
                    record.event_name or None,
                    _proto_attributes(record.attributes),
                    record.time_unix_nano or record.observed_time_unix_nano,
                    int.from_bytes(record.trace_id) if record.trace_id else 0,
                    scope,
                )


def _proto_span_events(request: Any) -> Iterator[WireRecord]:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                trace_id = int.from_bytes(span.trace_id) if span.trace_id else 0
                for event in span.events:
                    yield WireRecord(
                        event.name or None,
                        _proto_attributes(event.attributes),
                        event.time_unix_nano or span.start_time_unix_nano,
                        trace_id,
                        scope,
                    )


def _proto_attributes(pairs: Any) -> dict[str, Any]:
    attributes = {}
    for pair in pairs:
        value = pair.value
        kind = value.WhichOneof("value")
        if kind is None:
            continue
        found = getattr(value, kind)
        if kind == "array_value":
            found = [_proto_value(v) for v in found.values]
        elif kind == "kvlist_value":
            found = _proto_attributes(found.values)
        attributes[pair.key] = found
    return attributes


def _proto_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    found = getattr(value, kind)
    if kind == "array_value":
        return [_proto_value(v) for v in found.values]
    if kind == "kvlist_value":
        return _proto_attributes(found.values)
    return found


# --- JSON -----------------------------------------------------------------------------------


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
