"""An OpenTelemetry log record exporter that feeds :class:`RedisCounterSink`."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from .._warn_once import WarnOnce
from ..sinks import RedisCounterSink
from ..wire import TrackedEvent, decode
from ._losses import ExportLosses

__all__ = ["RedisCounterExporter", "decode_records", "plain_attributes"]

_log = logging.getLogger("otel_internal_events.export")
_once = WarnOnce(_log)


def plain_attributes(record: Any) -> dict[str, Any]:
    """An exported record's attributes as a plain dict (read only: it may be the record's own).

    The SDK's BoundedAttributes reads each key through Python code; its public ``copy()`` is one
    C-level dict copy, after which decoding reads a plain dict.
    """
    attributes = record.attributes
    if type(attributes) is dict:
        return attributes  # the direct logger's: already plain
    return attributes.copy() if attributes else {}


def decode_records(batch: Sequence[Any]) -> list[TrackedEvent]:
    """The tracked events among SDK log records (records that are not ours are skipped)."""
    events = []
    for item in batch:
        record = item.log_record
        attributes = plain_attributes(record)
        if not attributes:
            continue
        timestamp = record.timestamp or record.observed_timestamp
        event = decode(record.event_name, attributes, timestamp)
        if event is not None:
            events.append(event)
    return events


class RedisCounterExporter(LogRecordExporter):
    """Writes each exported batch into Redis counters in one round trip.

    Returns ``FAILURE`` when Redis cannot be reached, and the processor retries the same batch.
    Each batch carries a random id that its retries keep, and Redis remembers the ids it has
    applied (``dedup_window_seconds``): when the reply to a sending is lost after Redis ran it
    (a timeout at that moment, a connection cut), the retry is recognised and applies nothing,
    so no total is counted twice. Commands Redis refuses (a key of the wrong type) are not
    retried; the events they were writing for are counted in
    ``internal_events.export.failed{reason=redis_error}``, and events with a value Redis cannot
    store in ``{reason=invalid_value}``; the others of the batch are written.
    """

    def __init__(self, sink: RedisCounterSink, losses: ExportLosses) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        self._sink = sink
        self._transient: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
        self._losses = losses
        self._closed = False
        #: The batch whose last sending failed, and its id, which a retry of it keeps.
        self._unsent: tuple[Sequence[Any], str] | None = None

    @property
    def sink(self) -> RedisCounterSink:
        return self._sink

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        if self._closed:
            return LogRecordExportResult.FAILURE
        events = decode_records(batch)
        if not events:
            return LogRecordExportResult.SUCCESS
        unsent = self._unsent
        batch_id = unsent[1] if unsent is not None and unsent[0] is batch else os.urandom(12).hex()
        try:
            plan = self._sink.write(events, batch_id)
        except self._transient as exc:
            self._unsent = (batch, batch_id)
            _once.warn(f"redis:{type(exc).__name__}", "internal events redis: cannot write counters: %r", exc)
            return LogRecordExportResult.FAILURE
        self._unsent = None
        if plan.invalid_events:
            self._losses.failed(len(plan.invalid_events), "redis", "invalid_value")
            _once.warn(
                "redis:invalid_value",
                "internal events redis: %d event(s) left out: a value cannot be stored, e.g. in %r",
                len(plan.invalid_events),
                plan.invalid_events[0].name,
            )
        if plan.command_errors:
            self._losses.failed(plan.refused_events, "redis", "redis_error")
            _once.warn(
                "redis:command_error",
                "internal events redis: %d command(s) refused, for %d event(s), e.g. %r",
                len(plan.command_errors),
                plan.refused_events,
                plan.command_errors[0],
            )
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        self._closed = True
