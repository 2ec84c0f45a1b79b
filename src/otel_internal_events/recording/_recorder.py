"""Record one event on OpenTelemetry: a log record (the carrier), a span event, a count.

Only the OpenTelemetry API is used here; which SDK (if any) receives the data is decided by
whoever builds the logger and meter.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable

from opentelemetry._logs import Logger, SeverityNumber
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import get_current_span
from opentelemetry.util.types import AttributeValue

from ..conventions import TRACKED_COUNTER

__all__ = ["EventRecorder"]

Attributes = dict[str, AttributeValue]


class _Tally:
    """Events recorded, by name: the value of ``internal_events.tracked`` for one meter.

    One per meter and kept across reconfigurations: the SDK hands back the instrument already
    registered under the name (and ignores a new callback), and a cumulative counter must not
    start again from zero. It holds no reference to a recorder, so none is kept alive.
    """

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        with self.lock:
            counts = list(self.counts.items())
        return [Observation(count, {"event": name}) for name, count in counts]


_tallies: weakref.WeakKeyDictionary[Meter, _Tally] = weakref.WeakKeyDictionary()
_tallies_lock = threading.Lock()


def _tally_for(meter: Meter) -> _Tally:
    with _tallies_lock:
        tally = _tallies.get(meter)
        if tally is None:
            tally = _tallies[meter] = _Tally()
            meter.create_observable_counter(
                TRACKED_COUNTER,
                callbacks=[tally.observe],
                unit="{event}",
                description="Internal events recorded, by event name.",
            )
        return tally


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
        self._tally = _tally_for(meter)

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
        tally = self._tally
        with tally.lock:
            tally.counts[name] = tally.counts.get(name, 0) + 1
