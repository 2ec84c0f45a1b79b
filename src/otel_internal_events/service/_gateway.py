"""The gateway's core: events from OTLP or the events API, checked again, written to the sinks.

Framework-free; the ASGI app (:mod:`._app`) calls it from worker threads. Every event goes
through the tracker's :class:`~otel_internal_events.tracking.EventChecker` (the sender is never
trusted) and :func:`~otel_internal_events.wire.decode`, then into the same sinks as the
in-process exporters:

* Redis counters are written before the request is answered, one MULTI/EXEC per request, so a
  success means counted; Redis unreachable raises :class:`GatewayUnavailable` (the answer is
  ``503`` with ``Retry-After`` and the sender, the Collector, retries) with nothing written;
* Snowplow events go to the same exporter and export queue as in the application (the child
  process, batching, retries, counted failures); a request that does not fit in that queue is
  refused with ``503`` before anything is written.

In production mode a problem with an event is counted and logged like a tracking call's, and the
valid part of the event is kept (an unknown event is rejected); in strict mode an event with any
problem is rejected whole. Rejections are told to the sender (OTLP partial success, the events
API's answer); nothing else in a request is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource

from .._runtime import RECORD_LIMITS, Runtime
from .._warn_once import WarnOnce
from ..config import Settings
from ..conventions import ATTRIBUTE_PREFIX, EVENT_NAME, INSTRUMENTATION_SCOPE
from ..definitions import DefinitionRegistry
from ..errors import TrackingError
from ..exporters import AnalyticsLogRecordProcessor
from ..sinks import RedisCounterSink
from ..wire import TrackedEvent, call_arguments, decode, encode_event
from ._otlp import WireRecord

__all__ = ["ApiEvent", "Gateway", "GatewayUnavailable", "Outcome"]

_log = logging.getLogger("otel_internal_events.gateway")
_once = WarnOnce(_log)
#: How many problem messages an answer carries at most (the rest are counted).
MAX_MESSAGES = 10


class GatewayUnavailable(Exception):
    """The sinks cannot take events now; nothing of the request was written. Retry later."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class Outcome:
    """What became of the events of one request."""

    accepted: int = 0
    #: Events refused: unknown, invalid in strict mode, or refused by Redis.
    rejected: int = 0
    #: Problems, rejected or not (production mode keeps the valid part of an event).
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0

    def add_problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_MESSAGES:
            self.problems.append(message)

    def summary(self) -> str:
        """One line for an OTLP partial success: the problems, and how many were not shown."""
        if not self.problem_count:
            return ""
        more = self.problem_count - len(self.problems)
        return "; ".join(self.problems) + (f"; and {more} more" if more else "")


@dataclass(frozen=True, slots=True)
class ApiEvent:
    """One event of an events API request, its fields as the JSON body gave them."""

    event: str
    namespace_id: int | None = None
    project_id: int | None = None
    additional_properties: Mapping[str, Any] | None = None
    send_to_snowplow: bool = False
    category: str | None = None


class Gateway:
    """Checks events from any source and writes them to the sinks; see the module docstring.

    Built from :class:`~otel_internal_events.config.Settings` like the library: the same
    definitions, Redis (embedded when no URL is set), key prefix, strict mode and Snowplow
    settings. Connects to Redis at once, so a bad URL fails at start-up.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        registry: DefinitionRegistry | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.runtime = Runtime(
            settings.replace(exporters=("snowplow",) if settings.sends_to_snowplow else ("none",)),
            registry,
            meter_provider,
        )
        self.settings = settings
        self.registry = self.runtime.registry
        self.checker = self.runtime.tracker.checker
        self.redis = self.runtime.redis
        self.sink = RedisCounterSink(
            self.redis, self.registry, settings.key_prefix, dedup_window_s=settings.dedup_window_seconds
        )
        self.snowplow: AnalyticsLogRecordProcessor | None = self.runtime.processors.get("snowplow")
        self._resource = Resource.create({"service.name": "otel-internal-events-gateway"})
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        self._unreachable: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)

    def accept_records(self, records: Iterable[WireRecord], batch_id: str | None = None) -> Outcome:
        """Check and write the internal events among OTLP log records or span events.

        A record is an internal event when it carries the ``internal_events.event`` attribute,
        or has an event name and is ours by its scope, by one of our attributes or by naming a
        defined event. Other records are ignored. Given a ``batch_id`` (the app gives a hash of
        the request body), a batch sent again within the dedup window is not counted again.
        """
        outcome = Outcome()
        events: list[TrackedEvent] = []
        snowplow: list[tuple[TrackedEvent, dict[str, Any], int]] = []
        now = self.settings.clock()
        fast = self.checker.event_from_wire
        for record in records:
            name = self._event_of(record)
            if name is None:
                continue
            timestamp = record.timestamp_ns or now
            event = fast(name, record.attributes, timestamp)
            if event is not None:
                events.append(event)
                if self.snowplow is not None and event.send_snowplow:
                    snowplow.append((event, encode_event(event), record.trace_id))
                continue
            arguments = call_arguments(record.attributes)
            attributes = self._check(
                outcome,
                name,
                arguments.user,
                arguments.namespace,
                arguments.project,
                arguments.additional_properties,
                arguments.feature_enabled_by_namespace_ids,
                arguments.category,
                arguments.send_snowplow_event,
            )
            if attributes is not None:
                self._keep(name, attributes, timestamp, record.trace_id, events, snowplow)
        self._write(events, snowplow, outcome, batch_id)
        return outcome

    def accept_api_events(
        self, user_id: int | str | None, requested: Sequence[ApiEvent], batch_id: str | None = None
    ) -> Outcome:
        """Check and write events of the events API, tracked for ``user_id`` (the token's user;
        None for an anonymous browser page).

        As GitLab's API: the ids are the project's and namespace's (no namespace is derived
        from a project id), and Snowplow only when ``send_to_snowplow`` is true. In strict mode
        one invalid event refuses the request: nothing of it is written. Given a ``batch_id``
        (from the client's ``Idempotency-Key``), a request sent again is not counted again.
        """
        outcome = Outcome()
        events: list[TrackedEvent] = []
        snowplow: list[tuple[TrackedEvent, dict[str, Any], int]] = []
        now = self.settings.clock()
        for item in requested:
            attributes = self._check(
                outcome,
                item.event,
                user_id,
                item.namespace_id,
                item.project_id,
                item.additional_properties or None,
                None,
                item.category,
                item.send_to_snowplow,
            )
            if attributes is not None:
                self._keep(item.event, attributes, now, 0, events, snowplow)
        if self.checker.strict and outcome.rejected:
            outcome.rejected = len(requested)
            return outcome
        self._write(events, snowplow, outcome, batch_id)
        return outcome

    def ready(self) -> str | None:
        """None when the gateway can take events; else why not."""
        try:
            self.redis.ping()
        except Exception as exc:
            return f"Redis is not reachable: {exc}"
        return None

    def close(self, timeout_millis: int = 30_000) -> None:
        """Deliver what is queued for Snowplow, then stop."""
        self.runtime.shutdown(timeout_millis)

    def _event_of(self, record: WireRecord) -> Any:
        """The event a record names (not always a string: the checker says so), or None if not ours."""
        attributes = record.attributes
        if EVENT_NAME in attributes:
            return record.event_name or attributes[EVENT_NAME]
        name = record.event_name
        if name is None:
            return None
        if (
            record.scope == INSTRUMENTATION_SCOPE
            or name in self.registry.events
            or any(key.startswith(ATTRIBUTE_PREFIX) for key in attributes)
        ):
            return name
        return None

    def _check(self, outcome: Outcome, event: Any, *arguments: Any) -> dict[str, Any] | None:
        problems: list[TrackingError] = []
        attributes = self.checker.check(problems, event, *arguments)
        if problems:
            for problem in problems:
                self.checker.report(problem, problem.reason)
                outcome.add_problem(str(problem))
            if self.checker.strict:
                attributes = None
        if attributes is None:
            outcome.rejected += 1
        return attributes

    def _keep(
        self,
        name: str,
        attributes: dict[str, Any],
        timestamp_ns: int,
        trace_id: int,
        events: list[TrackedEvent],
        snowplow: list[tuple[TrackedEvent, dict[str, Any], int]],
    ) -> None:
        event = decode(name, attributes, timestamp_ns)
        if event is None:  # pragma: no cover - checked attributes always name their event
            return
        events.append(event)
        if event.send_snowplow and self.snowplow is not None:
            snowplow.append((event, attributes, trace_id))

    def _write(
        self,
        events: list[TrackedEvent],
        snowplow: list[tuple[TrackedEvent, dict[str, Any], int]],
        outcome: Outcome,
        batch_id: str | None,
    ) -> None:
        if not events:
            return
        if snowplow and self.snowplow is not None and self.snowplow.room() < len(snowplow):
            raise GatewayUnavailable("the Snowplow export queue is full", retry_after_s=1)
        try:
            plan = self.sink.write(events, batch_id)
        except self._unreachable as exc:
            _once.warn(f"redis:{type(exc).__name__}", "gateway: cannot write counters: %r", exc)
            raise GatewayUnavailable(f"Redis is not reachable: {exc}", retry_after_s=5) from None
        failed = len(plan.invalid_events) + plan.refused_events
        if plan.invalid_events:
            self.runtime.losses.failed(len(plan.invalid_events), "redis", "invalid_value")
            outcome.add_problem(f"{len(plan.invalid_events)} event(s) have a value Redis cannot store")
        if plan.refused_events:
            self.runtime.losses.failed(plan.refused_events, "redis", "redis_error")
            outcome.add_problem(f"Redis refused the writes of {plan.refused_events} event(s): {plan.command_errors[0]}")
        outcome.accepted += len(events) - failed
        outcome.rejected += failed
        # A batch applied already (its earlier answer was lost) still goes to Snowplow: that
        # earlier attempt failed before it queued anything there.
        if snowplow and self.snowplow is not None:
            self.snowplow.enqueue_unit([self._log_record(*item) for item in snowplow])

    def _log_record(self, event: TrackedEvent, attributes: dict[str, Any], trace_id: int) -> ReadableLogRecord:
        from opentelemetry._logs import LogRecord

        record = LogRecord(timestamp=event.timestamp_ns, attributes=attributes, event_name=event.name)
        record.trace_id = trace_id  # the sender's trace: Snowplow's correlation id
        return ReadableLogRecord(record, self._resource, limits=RECORD_LIMITS)
