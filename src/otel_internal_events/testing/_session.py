"""Per-test state behind the matchers: the runtime they watch, the events it records, clean-up.

The pytest plugin opens a :class:`~._scope.Scope` around each test (nothing is configured).
The first matcher or fixture that needs the runtime creates the test's :class:`Session` and
attaches it to the scope; it configures one (strict, Redis counters under a key prefix of the
test's own) unless the test or its fixtures configured their own, and captures every tracked
event synchronously. When the test ends the scope closes the session: the runtime it
configured is shut down and its keys are deleted; a runtime the test body configured (or that
configured itself from the environment when the test tracked an event) is shut down too.
Runtimes that fixtures set up are theirs to shut down. Outside a pytest test the matchers use
the current runtime. The runtime is reached through :mod:`otel_internal_events`'s public
functions only.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord

import otel_internal_events as oie

from ..config import ENV_PREFIX, Settings, settings_from_env
from ..definitions import DefinitionRegistry, MetricDefinition, load_definitions
from ..exporters import decode_records
from ..metrics import MetricValue, RedisMetricValues
from ..wire import TrackedEvent
from ._scope import FLUSH_TIMEOUT_MILLIS, Scope, current_scope

__all__ = ["Session", "active_session"]

_log = logging.getLogger("otel_internal_events.testing")

#: Key prefixes: ``internal-events-test:<process token>:<n>:``, after any configured prefix.
_PREFIX_ROOT = "internal-events-test"
_PROCESS_TOKEN = uuid.uuid4().hex[:8]
_numbers = itertools.count(1)


class _CaptureProcessor(LogRecordProcessor):
    """Hands each record to the session listening now, on the thread that tracked it."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        session = _listening()
        if session is None:
            return
        try:
            events = decode_records([log_record])
        except Exception:  # a record that is not ours, in a shape we do not know
            _log.debug("cannot decode a log record", exc_info=True)
            return
        for event in events:
            session.receive(event)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


#: Runtimes that already carry a capture processor (a LoggerProvider cannot remove one).
_captured: weakref.WeakSet[oie.Runtime] = weakref.WeakSet()
_captured_lock = threading.Lock()


def _capture(runtime: oie.Runtime) -> None:
    with _captured_lock:
        if runtime in _captured:
            return
        runtime.logger_provider.add_log_record_processor(_CaptureProcessor())
        _captured.add(runtime)


class Session:
    """The events and the runtime of one test (or, outside pytest, of the process).

    ``owning``: configure a runtime when none is current, and reset it at :meth:`close`.
    ``definitions``: folders to use when the environment does not name any.
    """

    def __init__(
        self,
        *,
        owning: bool,
        definitions: Callable[[], Sequence[str]] | None = None,
        scope: Scope | None = None,
    ) -> None:
        self.owning = owning
        self._definitions = definitions
        self._scope = scope
        self.events: list[TrackedEvent] = []
        self._sinks: list[list[TrackedEvent]] = []
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._registry: DefinitionRegistry | None = None
        self._owned: list[oie.Runtime] = []
        self.open_runs = 0

    # -- the runtime ---------------------------------------------------------------------

    def settings(self) -> Settings:
        """The settings a runtime of this session is configured with (computed once)."""
        if self._settings is None:
            overrides: dict[str, Any] = {}
            if ENV_PREFIX + "DEFINITIONS" not in os.environ and self._definitions is not None:
                folders = tuple(self._definitions())
                if folders:
                    overrides["definitions"] = folders
            base = settings_from_env(**overrides)
            prefix = f"{base.key_prefix}{_PREFIX_ROOT}:{_PROCESS_TOKEN}:{next(_numbers)}:"
            # Tests never send to a Collector or Snowplow: Redis counters only.
            self._settings = base.replace(strict=True, exporters=("redis",), key_prefix=prefix)
        return self._settings

    def registry(self) -> DefinitionRegistry:
        """The definitions matchers are checked against; loading them starts no runtime."""
        runtime = oie.configured()
        if runtime is not None:
            return runtime.registry
        if not self.owning:
            return self.runtime().registry
        if self._registry is None:
            self._registry = load_definitions(*self.settings().definitions)
        return self._registry

    def runtime(self) -> oie.Runtime:
        """The current runtime, capturing; configured by this session if there is none."""
        __tracebackhide__ = True
        runtime = oie.configured()
        if runtime is None:
            if self.owning:
                self._check_nothing_was_lost()
                runtime = oie.configure(self.settings(), registry=self.registry())
                self._owned.append(runtime)
            else:
                runtime = oie.get_runtime()
                if runtime is None:
                    raise RuntimeError("internal events are not configured (see the log for why)")
        _capture(runtime)
        return runtime

    def _check_nothing_was_lost(self) -> None:
        __tracebackhide__ = True
        reason = oie.disabled_reason()
        if reason is not None and self._scope is not None and self._scope.disabled_reason is None:
            raise RuntimeError(
                "this test tracked internal events before its first matcher, and the runtime that "
                "configured itself from the environment for them failed, so they were lost: "
                f"{reason}\nRequest the 'internal_events' fixture to set up the test runtime "
                "before the test runs (or configure the runtime in a fixture)."
            )

    def metric_values(self, key_paths: Iterable[str]) -> dict[str, MetricValue]:
        """Values after a flush, with the time frames of GitLab's specs (see :class:`_SpecTimeFrames`)."""
        __tracebackhide__ = True
        runtime = self.runtime()
        if "redis" not in runtime.settings.exporters:
            raise RuntimeError(
                "the current internal events runtime writes no Redis counters "
                f"(exporters={','.join(runtime.settings.exporters)}): metric values cannot change"
            )
        _flush(runtime)
        metrics = [runtime.registry.metric(key_path) for key_path in key_paths]
        reader = _SpecTimeFrames(runtime.redis, runtime.registry, runtime.settings.key_prefix)
        return reader.values(metrics, runtime.today())

    def flush(self) -> None:
        """Deliver every event tracked so far; raises if that takes over ``FLUSH_TIMEOUT_MILLIS``."""
        __tracebackhide__ = True
        _flush(self.runtime())

    # -- captured events --------------------------------------------------------------------

    def receive(self, event: TrackedEvent) -> None:
        with self._lock:
            if self.owning:  # a test's events; the process-wide session keeps none
                self.events.append(event)
            for sink in self._sinks:
                sink.append(event)

    def listen(self) -> list[TrackedEvent]:
        """A list that receives every event tracked from now until :meth:`stop_listening`."""
        sink: list[TrackedEvent] = []
        with self._lock:
            self._sinks.append(sink)
        return sink

    def stop_listening(self, sink: list[TrackedEvent]) -> None:
        with self._lock:
            self._sinks = [s for s in self._sinks if s is not sink]

    def clear(self) -> None:
        with self._lock:
            self.events.clear()

    # -- the end ----------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Reset what this session set up; the problems found (never raises)."""
        problems = []
        if self.open_runs:
            problems.append(
                f"{self.open_runs} internal events expectation(s) were started and never checked: "
                "was a coroutine returned by .of(...) left un-awaited?"
            )
        with self._lock:
            self._sinks.clear()
        current = oie.configured()
        if current is not None and any(current is runtime for runtime in self._owned):
            oie.reset(FLUSH_TIMEOUT_MILLIS)
        for runtime in self._owned:
            _delete_keys(runtime)
        self._owned.clear()
        return problems


class _SpecTimeFrames(RedisMetricValues):
    """Metric values with the time frames GitLab stubs in its specs (``stub_metric_timeframes``).

    There the start of a time frame stays 7 days (28 days) ago and its end moves a week ahead,
    so that 7d reads the previous and the current ISO week and 28d the last five: the events a
    test tracks count, and so do those of the week before (a test that travels back in time).
    Here: the weeks read as of today (the complete weeks) and those read a week ahead (the
    current week), together.
    """

    def keys_for(self, metric: MetricDefinition, at: dt.date) -> list[str]:
        keys = super().keys_for(metric, at) + super().keys_for(metric, at + dt.timedelta(weeks=1))
        return list(dict.fromkeys(keys))


def _flush(runtime: oie.Runtime) -> None:
    __tracebackhide__ = True
    if not runtime.flush(FLUSH_TIMEOUT_MILLIS):
        raise RuntimeError(f"tracked events did not reach Redis within {FLUSH_TIMEOUT_MILLIS} ms")


def _delete_keys(runtime: oie.Runtime) -> None:
    try:
        runtime.delete_keys()
    except Exception as exc:  # the server is gone: nothing left to clean
        _log.warning("cannot delete the test's Redis keys: %r", exc)
    finally:
        runtime.redis.close()


_standalone: Session | None = None


def active_session() -> Session:
    """The session of the running test, created now if needed; outside tests, the process's."""
    global _standalone
    scope = current_scope()
    if scope is not None:
        if not isinstance(scope.session, Session):
            scope.session = Session(owning=True, definitions=scope.definitions, scope=scope)
        return scope.session
    if _standalone is None:
        _standalone = Session(owning=False)
    return _standalone


def _listening() -> Session | None:
    scope = current_scope()
    if scope is None:
        return _standalone
    return scope.session if isinstance(scope.session, Session) else None
