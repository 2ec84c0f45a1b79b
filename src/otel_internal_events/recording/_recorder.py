"""Record one event on OpenTelemetry: a log record (the carrier), a span event, a count.

Only the OpenTelemetry API is used here; which SDK (if any) receives the data is decided by
whoever builds the logger and meter.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from opentelemetry._logs import Logger, SeverityNumber
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import get_current_span
from opentelemetry.util.types import AttributeValue

from ..conventions import TRACKED_COUNTER

__all__ = ["EventRecorder"]

Attributes = dict[str, AttributeValue]


class EventRecorder:
    """Writes tracked events to a logger, the current span and the tracked counter.

    The log record carries the event: log records are not sampled with traces and are
    exported when the batch is, not when a long request span ends. The span event is kept
    so that a trace shows what the user did. ``internal_events.tracked`` is an observable
    counter over an in-process tally, which costs the caller a dict update instead of a
    synchronous ``Counter.add``.
    """

    def __init__(self, logger: Logger, meter: Meter) -> None:
        self._logger = logger
        self._tally: dict[str, int] = {}
        self._lock = threading.Lock()
        meter.create_observable_counter(
            TRACKED_COUNTER,
            callbacks=[self._observe],
            unit="{event}",
            description="Internal events recorded, by event name.",
        )

    def record(self, name: str, attributes: Attributes, timestamp_ns: int) -> None:
        """Record event ``name`` that happened at ``timestamp_ns``."""
        self._logger.emit(
            timestamp=timestamp_ns,
            severity_number=SeverityNumber.INFO,
            attributes=attributes,
            event_name=name,
        )
        span = get_current_span()
        if span.is_recording():
            span.add_event(name, attributes, timestamp_ns)
        with self._lock:
            self._tally[name] = self._tally.get(name, 0) + 1

    def tracked(self, name: str) -> int:
        """How many ``name`` events this recorder has recorded."""
        return self._tally.get(name, 0)

    def _observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            counts = list(self._tally.items())
        return [Observation(count, {"event": name}) for name, count in counts]
