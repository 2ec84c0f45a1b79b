"""An OpenTelemetry log record exporter that feeds :class:`RedisCounterSink`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from .._once import LogOnce
from ..sinks import RedisCounterSink
from ..wire import TrackedEvent, decode
from ._losses import ExportLosses

__all__ = ["RedisCounterExporter", "decode_records", "plain_attributes"]

_log = logging.getLogger("otel_internal_events.export")
_once = LogOnce(_log)


def plain_attributes(record: Any) -> Any:
    """An exported record's attributes as a plain mapping.

    The SDK's BoundedAttributes copies its keys under a lock on every iteration; a record is
    no longer written to once exported, so the dict beneath is read directly.
    """
    return getattr(record.attributes, "_dict", record.attributes)


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

    Returns ``FAILURE`` when Redis cannot be reached, and the processor retries. The batch is
    one MULTI/EXEC, so a connection lost before EXEC applied nothing; only a reply lost after
    EXEC ran (a timeout at that moment) can make the retry count the batch twice. Commands
    Redis refuses (a key of the wrong type) are not retried; the events they were writing for
    are counted in ``internal_events.export.failed{reason=redis_error}``.
    """

    def __init__(self, sink: RedisCounterSink, losses: ExportLosses) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        self._sink = sink
        self._transient: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
        self._losses = losses
        self._closed = False

    @property
    def sink(self) -> RedisCounterSink:
        return self._sink

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        if self._closed:
            return LogRecordExportResult.FAILURE
        events = decode_records(batch)
        if not events:
            return LogRecordExportResult.SUCCESS
        try:
            plan = self._sink.write(events)
        except self._transient as exc:
            _once.warn(f"redis:{type(exc).__name__}", "internal events redis: cannot write counters: %r", exc)
            return LogRecordExportResult.FAILURE
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
