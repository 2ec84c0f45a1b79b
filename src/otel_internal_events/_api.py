"""The public tracking API, named as GitLab's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from . import _state
from .exporters import batch_scope
from .metrics import MetricValue

__all__ = [
    "InternalEvents",
    "InternalEventsTracking",
    "flush",
    "metric_value",
    "report",
    "track_internal_event",
    "with_batched_redis_writes",
]


def track_internal_event(
    event: str,
    *,
    user: Any = None,
    namespace: Any = None,
    project: Any = None,
    additional_properties: Mapping[str, Any] | None = None,
    feature_enabled_by_namespace_ids: Iterable[int] | None = None,
    category: str | None = None,
    send_snowplow_event: bool = True,
) -> None:
    """Track one internal event.

    ``user``, ``project`` and ``namespace`` take an object with an ``id`` or a plain id; when
    a project is given without a namespace, the project's ``namespace`` (or ``namespace_id``)
    is used. ``additional_properties`` must be declared in the event's definition.

    The call validates against the definition and records the event on OpenTelemetry; Redis
    and Snowplow are written from the export thread, never from the caller's. In production
    it never raises: problems are logged once and counted in ``internal_events.rejected``.
    In strict mode (``OTEL_INTERNAL_EVENTS_STRICT=1``) they raise a
    :class:`~otel_internal_events.errors.TrackingError` and nothing is recorded.
    """
    runtime = _state.get_runtime()
    if runtime is None:
        return
    runtime.tracker.track(
        event,
        user=user,
        namespace=namespace,
        project=project,
        additional_properties=additional_properties,
        feature_enabled_by_namespace_ids=feature_enabled_by_namespace_ids,
        category=category,
        send_snowplow_event=send_snowplow_event,
    )


class InternalEvents:
    """GitLab's ``Gitlab::InternalEvents`` facade."""

    #: ``InternalEvents.track_event(event, category=..., ...)``: the same call as
    #: :func:`track_internal_event`, with an explicit category (or none).
    track_event = staticmethod(track_internal_event)


class InternalEventsTracking:
    """Mixin: ``self.track_internal_event(...)`` sets ``category`` to the class name."""

    def track_internal_event(
        self,
        event: str,
        *,
        user: Any = None,
        namespace: Any = None,
        project: Any = None,
        additional_properties: Mapping[str, Any] | None = None,
        feature_enabled_by_namespace_ids: Iterable[int] | None = None,
        send_snowplow_event: bool = True,
    ) -> None:
        """Track ``event`` with this class's name as the category; see :func:`track_internal_event`."""
        track_internal_event(
            event,
            user=user,
            namespace=namespace,
            project=project,
            additional_properties=additional_properties,
            feature_enabled_by_namespace_ids=feature_enabled_by_namespace_ids,
            category=type(self).__qualname__,
            send_snowplow_event=send_snowplow_event,
        )


@contextmanager
def with_batched_redis_writes() -> Iterator[None]:
    """Send every Redis write of the events tracked inside the block in one round trip.

    The events are held until the block exits (also when it raises) and then exported
    together; nested blocks join the outermost one.
    """
    with batch_scope():
        yield


def flush(timeout_millis: int = 30_000) -> bool:
    """Deliver every event tracked so far.

    True when every queue drained within ``timeout_millis`` and no event tracked since the last
    ``flush()`` was lost: none dropped (a full queue, a shutdown) and none failed for good (an
    exporter that gave up after its retries, a write Redis refused, an event Snowplow's collector
    refused or that could not be built), including by a configuration replaced since. False too
    when tracking is off because its configuration failed. Which exporter lost how many, and why,
    is in the counters ``internal_events.export.dropped`` and ``internal_events.export.failed``.
    """
    return _state.flush(timeout_millis)


def metric_value(key_path: str, *, at: dt.date | None = None) -> MetricValue:
    """The value of metric ``key_path`` as of ``at`` (default: today), from Redis.

    Call :func:`flush` first to include events tracked a moment ago.
    """
    runtime = _state.get_runtime()
    if runtime is None:
        raise RuntimeError("internal events are not configured")
    return runtime.metric_value(key_path, at)


def report(*, at: dt.date | None = None) -> dict[str, Any]:
    """Every metric's value as of ``at``, nested by key path (Service-Ping-shaped)."""
    runtime = _state.get_runtime()
    if runtime is None:
        raise RuntimeError("internal events are not configured")
    return runtime.report(at)
