"""The provider of our events' log records, and its direct logger.

The SDK's ``Logger.emit`` wraps every record's attributes in ``BoundedAttributes``, which checks
and copies each value again in Python: more than half the cost of a tracking call, spent
re-checking what the tracker has just checked against the event's definition. The direct logger
builds the same SDK record (a :class:`CheckedLogRecord`, a ``ReadWriteLogRecord``) around the
checked attributes as they are, and hands it to the provider's processors itself, as the SDK's
synchronous multi-processor does.

It is used only when no record leaves the process as an OpenTelemetry log record (the Redis,
Snowplow and JSON lines exporters turn records into their own payloads); with the OTLP exporter
the runtime uses the SDK's own logger, so the records a Collector receives are built the SDK's
way. A processor added to the provider later (a test's, the pytest plugin's) receives the
direct logger's records too.
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry._logs import Logger, LogRecord
from opentelemetry.sdk._logs import LoggerProvider, LogRecordLimits, LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

__all__ = ["AnalyticsLoggerProvider", "CheckedLogRecord", "DirectLogger"]


class CheckedLogRecord(ReadWriteLogRecord):
    """An SDK log record whose attributes were checked before it was built: kept as they are
    (a plain dict), not wrapped again in ``BoundedAttributes``."""

    def __post_init__(self) -> None:
        pass


class AnalyticsLoggerProvider(LoggerProvider):
    """An SDK ``LoggerProvider`` that also hands out a :class:`DirectLogger` over its processors."""

    def __init__(self, resource: Resource, limits: LogRecordLimits) -> None:
        super().__init__(resource=resource, shutdown_on_exit=False, log_record_limits=limits)
        self._limits = limits
        self._processors: tuple[LogRecordProcessor, ...] = ()
        self._direct: list[DirectLogger] = []
        self._direct_lock = threading.Lock()

    def add_log_record_processor(self, log_record_processor: LogRecordProcessor) -> None:
        with self._direct_lock:
            super().add_log_record_processor(log_record_processor)
            self._processors = (*self._processors, log_record_processor)
            for logger in self._direct:
                logger.processors = self._processors

    def direct_logger(self, name: str) -> DirectLogger:
        """A logger that hands records of checked attributes to this provider's processors,
        those added so far and those added later."""
        with self._direct_lock:
            logger = DirectLogger(InstrumentationScope(name), self.resource, self._limits, self._processors)
            self._direct.append(logger)
        return logger


class DirectLogger(Logger):
    """Emits :class:`CheckedLogRecord` records to ``processors``; see the module docstring.

    Only for attributes that are valid OpenTelemetry attribute values already (the tracker's).
    """

    def __init__(
        self,
        scope: InstrumentationScope,
        resource: Resource,
        limits: LogRecordLimits,
        processors: tuple[LogRecordProcessor, ...],
    ) -> None:
        super().__init__(scope.name, scope.version, scope.schema_url, scope.attributes)
        self.scope = scope
        self.resource = resource
        self.limits = limits
        #: Replaced as a whole when a processor is added, so that an emit in progress on another
        #: thread goes on over the tuple it started with.
        self.processors = processors

    def enabled(self, *, context: Any = None, severity_number: Any = None, event_name: str | None = None) -> bool:
        """Always: internal events are not filtered by severity or scope."""
        return True

    def emit(
        self,
        record: LogRecord | None = None,
        *,
        timestamp: int | None = None,
        observed_timestamp: int | None = None,
        context: Any = None,
        severity_number: Any = None,
        severity_text: str | None = None,
        body: Any = None,
        attributes: Any = None,
        event_name: str | None = None,
        exception: BaseException | None = None,
    ) -> None:
        if record is None:
            record = LogRecord(
                timestamp=timestamp,
                observed_timestamp=observed_timestamp,
                context=context,
                severity_number=severity_number,
                severity_text=severity_text,
                body=body,
                attributes=attributes,
                event_name=event_name,
                exception=exception,
            )
        checked = CheckedLogRecord(record, self.resource, self.scope, self.limits)
        for processor in self.processors:
            processor.on_emit(checked)
