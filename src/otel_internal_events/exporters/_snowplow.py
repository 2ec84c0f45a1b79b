"""An OpenTelemetry log record exporter that feeds :class:`SnowplowSink`.

It runs on the :class:`AnalyticsLogRecordProcessor`'s worker thread, never on the caller's:
that processor is the bounded buffer (``max_queue_size``, drops counted) and the retry loop
(backoff, for at most ``retry_timeout_millis``). This exporter builds the Snowplow payloads of
a batch, sends them in collector-sized requests, and answers:

* ``SUCCESS`` when every payload was delivered or refused for good (a 4xx other than 408/429:
  counted in ``internal_events.export.failed{exporter=snowplow, reason=rejected}``, not retried);
* ``FAILURE`` on a 5xx, 408, 429 or network error. The payloads not yet delivered are kept, and
  when the processor retries the same batch only those are sent again, with their original
  event ids, so a partial success is not sent twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.metrics import Meter
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from ..conventions import EXPORT_FAILED_COUNTER
from ..sinks import Payload, SnowplowSink, TrackedEvent, event_from_attributes
from ._once import LogOnce

__all__ = ["SnowplowExporter"]

_log = logging.getLogger("otel_internal_events.export")
_ATTRIBUTES = {"exporter": "snowplow"}


class SnowplowExporter(LogRecordExporter):
    """Sends each exported batch to a Snowplow collector through ``sink``; see the module docstring."""

    def __init__(self, sink: SnowplowSink, meter: Meter) -> None:
        self._sink = sink
        self._failed = meter.create_counter(
            EXPORT_FAILED_COUNTER, unit="{record}", description="Records whose export failed for good."
        )
        self._once = LogOnce(_log)
        self._pending_batch: Sequence[Any] | None = None
        self._pending: list[Payload] = []
        self._closed = False
        self._lock = threading.Lock()
        self._stats = {"delivered": 0, "rejected": 0, "invalid": 0, "requests": 0, "transient_failures": 0}

    @property
    def sink(self) -> SnowplowSink:
        return self._sink

    @property
    def stats(self) -> dict[str, int]:
        """Events delivered, rejected and invalid, requests made, and transient failures so far."""
        return dict(self._stats)

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        with self._lock:
            if self._closed:
                return LogRecordExportResult.FAILURE
            # A retry of the batch that failed sends only what is left of it.
            payloads = self._pending if batch is self._pending_batch else self._build(batch)
            self._pending_batch, self._pending = None, []
            if not payloads:
                return LogRecordExportResult.SUCCESS
            result = self._sink.send(payloads)
            stats = self._stats
            stats["delivered"] += result.delivered
            stats["requests"] += result.requests
            if result.rejected:
                self._reject(result.rejected)
            if result.unsent:
                stats["transient_failures"] += 1
                self._pending_batch, self._pending = batch, result.unsent
                self._once.warn(
                    "snowplow:transient",
                    "internal events snowplow: cannot deliver to %s (%s); retrying",
                    self._sink.emitter.url,
                    result.error,
                )
                return LogRecordExportResult.FAILURE
            return LogRecordExportResult.SUCCESS

    def _build(self, batch: Sequence[Any]) -> list[Payload]:
        events: list[TrackedEvent] = []
        correlation_ids: list[str | None] = []
        for item in batch:
            record = item.log_record
            # As decode_records: the record is no longer written to, so read the dict beneath.
            attributes = getattr(record.attributes, "_dict", record.attributes)
            if not attributes:
                continue
            event = event_from_attributes(record.event_name, attributes, record.timestamp or record.observed_timestamp)
            if event is None or not event.send_snowplow:
                continue
            events.append(event)
            trace_id = record.trace_id
            correlation_ids.append(f"{trace_id:032x}" if trace_id else None)
        if not events:
            return []
        payloads, invalid = self._sink.build(events, correlation_ids)
        if invalid:
            self._stats["invalid"] += len(invalid)
            self._failed.add(len(invalid), {**_ATTRIBUTES, "reason": "invalid_event"})
            event, exc = invalid[0]
            self._once.warn(
                "snowplow:invalid",
                "internal events snowplow: %d event(s) could not be built, e.g. %s: %r",
                len(invalid),
                event.name,
                exc,
            )
        return payloads

    def _reject(self, rejected: list[tuple[int, int]]) -> None:
        count = sum(events for _status, events in rejected)
        self._stats["rejected"] += count
        self._failed.add(count, {**_ATTRIBUTES, "reason": "rejected"})
        self._once.warn(
            f"snowplow:rejected:{rejected[0][0]}",
            "internal events snowplow: the collector at %s refused %d event(s) with HTTP %d; not retried",
            self._sink.emitter.url,
            count,
            rejected[0][0],
        )

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        # Not under the lock: an export still waiting on the network must not hold up shutdown.
        self._closed = True
        self._sink.close()
