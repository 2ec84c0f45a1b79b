"""What the OTLP decoders give: a record as received, or the error that names what is wrong."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["OtlpDecodeError", "WireRecord"]


class WireRecord(NamedTuple):
    """A log record or span event as received: ``event_name`` is None when the record has none."""

    event_name: str | None
    attributes: dict[str, Any]
    timestamp_ns: int
    trace_id: int
    scope: str


class OtlpDecodeError(ValueError):
    """The body is not a valid OTLP export request (400)."""
