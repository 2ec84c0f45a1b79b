"""The process-wide state: the current runtime, how it is configured, replaced, flushed and shut down.

One :class:`Runtime` at a time is current. :func:`configure` builds one and makes it current
(the previous one is flushed and shut down); :func:`get_runtime` returns it, configuring one
from the environment on first use (in production mode a failure there is logged once and
tracking is off, :func:`disabled_reason` says why); :func:`activate` switches between runtimes
kept alive; :func:`shutdown` stops it and :func:`reset` also forgets a failed configuration.
The top-level package exports these names.

It also sees to it that nothing tracked is left behind when a process ends: an exit hook
flushes the current runtime, and the children of ``multiprocessing`` (which end without exit
hooks) flush before they end and configure from their parent's settings.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Any

from . import _redis
from ._threads import new_thread
from .config import Settings, settings_from_env, strict_from_env
from .errors import InternalEventsError

if TYPE_CHECKING:  # building a runtime loads the SDK and the definitions: only when one is built
    from opentelemetry.metrics import MeterProvider

    from ._runtime import Runtime
    from .definitions import DefinitionRegistry

__all__ = [
    "INHERITED_SETTINGS",
    "activate",
    "configure",
    "configured",
    "disabled_reason",
    "flush",
    "get_runtime",
    "reset",
    "shutdown",
]

_log = logging.getLogger("otel_internal_events")

_current: Runtime | None = None
_lock = threading.RLock()
_disabled_reason: str | None = None
#: Records a replaced runtime lost after the last flush: the next flush() reports them.
_lost_by_replaced = 0


def configure(
    settings: Settings | None = None,
    *,
    registry: DefinitionRegistry | None = None,
    meter_provider: MeterProvider | None = None,
    **overrides: Any,
) -> Runtime:
    """Build the runtime from ``settings`` (or the environment plus ``overrides``) and make it current.

    A previous configuration is flushed and shut down first. Raises typed errors
    (:class:`~otel_internal_events.errors.DefinitionsInvalidError`, :class:`ConfigurationError`).
    """
    global _current, _disabled_reason
    if settings is None:
        settings = settings_from_env(**overrides)
    elif overrides:
        settings = settings.replace(**overrides)
    with _lock:
        from ._runtime import Runtime

        runtime = Runtime(settings, registry, meter_provider)
        previous, _current, _disabled_reason = _current, runtime, None
        _watch_multiprocessing_children()
        embedded_url = _start_embedded(runtime)
        if embedded_url is not None:
            # Exit hooks run last-registered first: the flush into the embedded server must
            # come before the hook its library registered when it started it.
            atexit.unregister(_at_exit)
            atexit.register(_at_exit)
        _publish_for_children(settings, embedded_url)
    if previous is not None:
        _retire(previous, 30_000)
    return runtime


#: The configuration of this process, for the multiprocessing children that start a fresh
#: interpreter (the spawn and forkserver start methods) and configure from it on first use.
INHERITED_SETTINGS = "_OTEL_INTERNAL_EVENTS_PARENT_SETTINGS"
#: Not handed down: the secret stays out of the environment of every process this one starts.
_NOT_INHERITED = frozenset({"pseudonymization_secret"})


def _start_embedded(runtime: Runtime) -> str | None:
    """Start the embedded server now when the counters use it; its URL.

    Now rather than on the first export: the children this process forks or starts afresh
    must find the same server (a forked child would otherwise start one of its own, and its
    counts would be gone when it ends).
    """
    if runtime.redis_sink is None or runtime.settings.redis_url is not None:
        return None
    return _redis.embedded_server().url


def _publish_for_children(settings: Settings, redis_url: str | None = None) -> None:
    values = {
        spec.name: getattr(settings, spec.name)
        for spec in dataclasses.fields(Settings)
        if "env" in spec.metadata and spec.name not in _NOT_INHERITED
    }
    if redis_url is not None:
        values["redis_url"] = redis_url
    os.environ[INHERITED_SETTINGS] = json.dumps(values)


def _inherited_settings() -> dict[str, Any]:
    """The parent's settings, in a child of multiprocessing that did not inherit its memory."""
    import multiprocessing

    published = os.environ.get(INHERITED_SETTINGS)
    if published is None or multiprocessing.parent_process() is None:
        return {}
    try:
        values: dict[str, Any] = json.loads(published)
    except ValueError:
        return {}
    return values


class _ChildWatch:
    """What multiprocessing's after-fork registry holds on to (it keeps weak references), and
    the process it has set up the flush of."""

    pid = 0


_child_watch: _ChildWatch | None = None


def _watch_multiprocessing_children() -> None:
    """Make multiprocessing's forked children deliver what they tracked before they end.

    A child of ``multiprocessing`` (a ``Process``, a ``Pool`` worker) ends with ``os._exit``:
    no atexit hook runs, and a pool's ``terminate()`` (its ``with`` block's end) kills workers
    with SIGTERM. So in each such child, a finalizer that multiprocessing runs before the child
    exits flushes, and SIGTERM, unless the application handles it, flushes first and then ends
    the process as it would have.
    """
    global _child_watch
    if _child_watch is None:
        import multiprocessing
        from multiprocessing import util

        _child_watch = _ChildWatch()
        util.register_after_fork(_child_watch, _in_multiprocessing_child)
        if multiprocessing.parent_process() is not None:  # a child that started afresh (spawn, forkserver)
            _in_multiprocessing_child(_child_watch)


def _in_multiprocessing_child(watch: _ChildWatch) -> None:
    from multiprocessing import util

    if watch.pid == os.getpid():
        return
    watch.pid = os.getpid()
    util.Finalize(None, _flush_before_exit, exitpriority=100)
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _flush_then_terminate)


def _flush_before_exit() -> None:
    runtime = _current
    if runtime is not None:
        runtime.flush(_CHILD_FLUSH_MILLIS)


def _flush_then_terminate(signum: int, _frame: Any) -> None:
    """SIGTERM in a multiprocessing child: flush, then end as SIGTERM would have.

    The flush runs on a thread of its own: the handler runs on the main thread between two of
    its steps, maybe while that thread holds a lock the flush needs (a tracking call queueing).
    """
    signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM ends the process at once

    def flush_then_end() -> None:
        _flush_before_exit()
        os.kill(os.getpid(), signum)

    new_thread(flush_then_end, "otel-internal-events-exit").start()


#: How long a multiprocessing child waits for its events to be delivered as it ends.
_CHILD_FLUSH_MILLIS = 10_000


def _retire(runtime: Runtime, timeout_millis: int) -> None:
    """Shut down a runtime that a new configuration replaces; the next flush() reports its losses."""
    global _lost_by_replaced
    runtime.shutdown(timeout_millis)
    lost = runtime.lost_since_flush()
    if lost:
        with _lock:
            _lost_by_replaced += lost


def flush(timeout_millis: int = 30_000) -> bool:
    """Deliver every event tracked so far; see :func:`otel_internal_events.flush`."""
    global _lost_by_replaced
    runtime = _current
    drained = _disabled_reason is None if runtime is None else runtime.flush(timeout_millis)
    with _lock:
        lost, _lost_by_replaced = _lost_by_replaced, 0
    return drained and not lost


def activate(runtime: Runtime | None) -> Runtime | None:
    """Make ``runtime`` the current one and return the one it replaces, which keeps running.

    For benchmarks and tests that keep several runtimes and switch between them; applications
    use :func:`configure`, which shuts the previous one down.
    """
    global _current, _disabled_reason
    with _lock:
        previous, _current, _disabled_reason = _current, runtime, None
    return previous


def configured() -> Runtime | None:
    """The current runtime if one is configured; never configures one."""
    return _current


def disabled_reason() -> str | None:
    """Why tracking is off, when the automatic configuration failed (production mode); else None."""
    return _disabled_reason


def get_runtime() -> Runtime | None:
    """The current runtime, configuring one from the environment on first use.

    In production mode a failing automatic configuration is logged once and tracking is off
    (``None``); in strict mode the error is raised.
    """
    global _disabled_reason
    runtime = _current
    if runtime is not None or _disabled_reason is not None:
        return runtime
    with _lock:
        if _current is not None or _disabled_reason is not None:
            return _current
        try:
            return configure(**_inherited_settings())
        except Exception as exc:  # production mode must not raise into the host, whatever failed
            if strict_from_env():
                raise
            _disabled_reason = str(exc) if isinstance(exc, InternalEventsError) else repr(exc)
            _log.error("internal events tracking is off: configuration failed: %s", _disabled_reason)
            return None


def shutdown(timeout_millis: int = 30_000) -> bool:
    """Deliver what is queued and stop the current runtime; the next tracked event configures anew
    (also after an automatic configuration failed).

    True, as :func:`flush`, when everything was delivered and nothing tracked since the last
    flush was lost.
    """
    global _current, _disabled_reason, _lost_by_replaced
    with _lock:
        runtime, _current, _disabled_reason = _current, None, None
        lost, _lost_by_replaced = _lost_by_replaced, 0
    if runtime is None:
        return not lost
    runtime.shutdown(timeout_millis)
    return not lost and not runtime.lost_since_flush()


def reset(timeout_millis: int = 30_000) -> bool:
    """Back to the state of a fresh process: :func:`shutdown`, and the settings published for
    child processes (:data:`INHERITED_SETTINGS`) withdrawn from the environment. For tests."""
    with _lock:
        delivered = shutdown(timeout_millis)
        os.environ.pop(INHERITED_SETTINGS, None)
    return delivered


def _at_exit() -> None:
    shutdown(5_000)
    _redis.embedded_server().stop()  # after the flush that may still write into it


atexit.register(_at_exit)
