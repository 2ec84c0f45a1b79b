"""OTLP/HTTP bodies: log records and span events in, export responses and errors out.

Framework-free. Both encodings of the OTLP/HTTP specification are read: binary protobuf
(``application/x-protobuf``, :mod:`._otlp_proto`) and JSON (``application/json``,
:mod:`._otlp_json`). A body may be gzip-compressed (``Content-Encoding: gzip``). What
comes out is :class:`WireRecord`: an event name (the record's ``event_name`` or a span event's
name), its attributes as Python values, its time and trace id. Which of them are internal
events is not decided here.
"""

from __future__ import annotations

import zlib
from typing import Any

from ._otlp_json import json_logs, json_span_events
from ._otlp_proto import proto_logs, proto_span_events
from ._otlp_records import OtlpDecodeError, WireRecord

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
    return proto_logs(body) if kind == PROTOBUF else json_logs(body)


def decode_spans(body: bytes, kind: str) -> list[WireRecord]:
    """Every span event of an ``ExportTraceServiceRequest`` (an empty body is an empty request);
    raises :class:`OtlpDecodeError`."""
    if not body:
        return []
    return proto_span_events(body) if kind == PROTOBUF else json_span_events(body)


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
