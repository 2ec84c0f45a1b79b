"""OTLP/protobuf bodies: log records and span events as :class:`WireRecord`, read fast.

The bodies are parsed by protobuf's own parser (upb), with a narrowed copy of the OTLP schema
built at run time: the same field numbers and wire types, but only the fields the gateway reads,
and each attribute kept as its encoded bytes (``repeated bytes`` in place of
``repeated KeyValue``). Turning a ``KeyValue`` message into a Python key and value costs far more
than parsing it; the same attribute bytes come again and again (an event name, a label, a
project id), so the decoded pair of each is kept in a bounded cache, and only new bytes are
decoded, with the ``KeyValue`` class of opentelemetry-proto. Fields the narrowed schema leaves
out are skipped by the parser, as unknown fields are.
"""

from __future__ import annotations

import functools
from typing import Any

from ._otlp_records import OtlpDecodeError, WireRecord

__all__ = ["proto_logs", "proto_span_events"]

#: Decoded attributes kept; beyond, the cache starts again (a plain dict: atomic under the GIL).
_CACHE_SIZE = 1 << 16
_cache: dict[bytes, tuple[str, Any]] = {}


def proto_logs(body: bytes) -> list[WireRecord]:
    """Every log record of an ``ExportLogsServiceRequest`` in protobuf."""
    request = _parse(_schema()["Logs"], body, "ExportLogsServiceRequest")
    pair = _pair
    records = []
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name
            for record in scope_logs.log_records:
                trace_id = record.trace_id
                records.append(
                    WireRecord(
                        record.event_name or None,
                        _attributes(map(pair, record.attributes)),
                        record.time_unix_nano or record.observed_time_unix_nano,
                        int.from_bytes(trace_id) if trace_id else 0,
                        scope,
                    )
                )
    return records


def proto_span_events(body: bytes) -> list[WireRecord]:
    """Every span event of an ``ExportTraceServiceRequest`` in protobuf."""
    request = _parse(_schema()["Traces"], body, "ExportTraceServiceRequest")
    pair = _pair
    records = []
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                trace_id = int.from_bytes(span.trace_id) if span.trace_id else 0
                for event in span.events:
                    records.append(
                        WireRecord(
                            event.name or None,
                            _attributes(map(pair, event.attributes)),
                            event.time_unix_nano or span.start_time_unix_nano,
                            trace_id,
                            scope,
                        )
                    )
    return records


def _attributes(pairs: Any) -> dict[str, Any]:
    attributes = dict(pairs)
    if None in attributes.values():  # an empty AnyValue: no attribute, as in JSON
        return {key: value for key, value in attributes.items() if value is not None}
    return attributes


def _pair(raw: bytes) -> tuple[str, Any]:
    """The key and value of one encoded ``KeyValue``."""
    found = _cache.get(raw)
    if found is None:
        found = _decode_pair(raw)
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[raw] = found
    return found


def _decode_pair(raw: bytes) -> tuple[str, Any]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    try:
        pair = KeyValue.FromString(raw)
    except (DecodeError, ValueError) as exc:
        raise OtlpDecodeError(f"an attribute is not a valid KeyValue in protobuf: {exc}") from None
    return pair.key, _value(pair.value)


def _value(value: Any) -> Any:
    """An ``AnyValue`` as a Python value: None when empty, a list or a dict for the nested kinds."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    found = getattr(value, kind)
    if kind == "array_value":
        return [_value(v) for v in found.values]
    if kind == "kvlist_value":
        return {pair.key: _value(pair.value) for pair in found.values}
    return found


def _parse(message_type: Any, body: bytes, name: str) -> Any:
    from google.protobuf.message import DecodeError

    try:
        return message_type.FromString(body)
    except (DecodeError, ValueError) as exc:
        raise OtlpDecodeError(f"the body is not a valid {name} in protobuf: {exc}") from None


#: (message, [(field, number, type, label, message type or None)]) of the narrowed schema.
_OPTIONAL, _REPEATED = 1, 3
_FIXED64, _STRING, _BYTES, _MESSAGE = 6, 9, 12, 11
_MESSAGES: tuple[tuple[str, tuple[tuple[str, int, int, int, str | None], ...]], ...] = (
    ("Scope", (("name", 1, _STRING, _OPTIONAL, None),)),
    ("Logs", (("resource_logs", 1, _MESSAGE, _REPEATED, "ResourceLogs"),)),
    ("ResourceLogs", (("scope_logs", 2, _MESSAGE, _REPEATED, "ScopeLogs"),)),
    (
        "ScopeLogs",
        (("scope", 1, _MESSAGE, _OPTIONAL, "Scope"), ("log_records", 2, _MESSAGE, _REPEATED, "LogRecord")),
    ),
    (
        "LogRecord",
        (
            ("time_unix_nano", 1, _FIXED64, _OPTIONAL, None),
            ("attributes", 6, _BYTES, _REPEATED, None),
            ("trace_id", 9, _BYTES, _OPTIONAL, None),
            ("observed_time_unix_nano", 11, _FIXED64, _OPTIONAL, None),
            ("event_name", 12, _STRING, _OPTIONAL, None),
        ),
    ),
    ("Traces", (("resource_spans", 1, _MESSAGE, _REPEATED, "ResourceSpans"),)),
    ("ResourceSpans", (("scope_spans", 2, _MESSAGE, _REPEATED, "ScopeSpans"),)),
    ("ScopeSpans", (("scope", 1, _MESSAGE, _OPTIONAL, "Scope"), ("spans", 2, _MESSAGE, _REPEATED, "Span"))),
    (
        "Span",
        (
            ("trace_id", 1, _BYTES, _OPTIONAL, None),
            ("start_time_unix_nano", 7, _FIXED64, _OPTIONAL, None),
            ("events", 11, _MESSAGE, _REPEATED, "SpanEvent"),
        ),
    ),
    (
        "SpanEvent",
        (
            ("time_unix_nano", 1, _FIXED64, _OPTIONAL, None),
            ("name", 2, _STRING, _OPTIONAL, None),
            ("attributes", 3, _BYTES, _REPEATED, None),
        ),
    ),
)
_PACKAGE = "otel_internal_events.otlp_narrowed"


@functools.cache
def _schema() -> dict[str, Any]:
    """The message classes of the narrowed schema, built once in a pool of their own."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    file = descriptor_pb2.FileDescriptorProto(name="otel_internal_events/otlp_narrowed.proto", package=_PACKAGE)
    file.syntax = "proto3"
    for name, fields in _MESSAGES:
        message = file.message_type.add(name=name)
        for field, number, kind, label, type_name in fields:
            added = message.field.add(name=field, number=number, type=kind, label=label)
            if type_name is not None:
                added.type_name = f".{_PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    found = pool.FindFileByName(file.name)
    return {name: message_factory.GetMessageClass(found.message_types_by_name[name]) for name, _ in _MESSAGES}
