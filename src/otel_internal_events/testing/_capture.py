"""The ``internal_events`` fixture's object, and ``capture_internal_events``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import otel_internal_events as oie

from ..metrics import MetricValue
from ..wire import TrackedEvent
from ._session import Session, active_session

__all__ = ["InternalEventsCapture", "capture_internal_events"]


class InternalEventsCapture:
    """The internal events of the running test: what it tracked, and metric values.

    The ``internal_events`` fixture returns one, with the runtime set up before the test
    runs (strict, Redis counters under a key prefix of the test's own).
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def events(self) -> list[TrackedEvent]:
        """The events tracked in this test so far (since set-up or :meth:`clear`), in order."""
        return list(self._session.events)

    @property
    def runtime(self) -> oie.Runtime:
        """The runtime the events go through (its ``settings``, ``registry``, ``redis``)."""
        return self._session.runtime()

    def clear(self) -> None:
        """Forget the events captured so far (metric values are not reset)."""
        self._session.clear()

    def flush(self) -> None:
        """Deliver every event tracked so far to Redis; raises if that takes over 10 s."""
        __tracebackhide__ = True
        self._session.flush()

    def metric_value(self, key_path: str) -> MetricValue:
        """The value of metric ``key_path`` now, the current week included (see the matchers)."""
        return self._session.metric_values([key_path])[key_path]

    def __repr__(self) -> str:
        return f"<InternalEventsCapture events={len(self._session.events)}>"


@contextmanager
def capture_internal_events() -> Iterator[list[TrackedEvent]]:
    """Collect the events tracked inside the block into the list it yields::

        with capture_internal_events() as events:
            service.run()
        assert [e.name for e in events] == ["open_web_ide"]

    Each :class:`~otel_internal_events.wire.TrackedEvent` holds the validated event: its
    ``name``, ``user_id``, ``project_id``, ``namespace_id``, ``properties`` and ``category``.
    """
    session = active_session()
    session.runtime()
    events = session.listen()
    try:
        yield events
    finally:
        session.stop_listening(events)
