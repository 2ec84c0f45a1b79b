"""Wiring: settings -> registry, tracker, OTel logger provider, processors, exporters.

The analytics pipeline has its own ``LoggerProvider``, so the host's logging set-up neither
receives our events by surprise nor can drop them; the ``otlp`` exporter sends the same
records to a Collector when asked.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import json
import logging
import os
import signal
import threading
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.sdk._logs import LoggerProvider, LogRecordLimits
from opentelemetry.sdk.environment_variables import OTEL_SDK_DISABLED
from opentelemetry.sdk.resources import Resource

from . import _redis
from ._forks import renew_in_forked_child
from .config import ENV_PREFIX, Settings, _bool, settings_from_env
from .conventions import INSTRUMENTATION_SCOPE
from .definitions import DefinitionRegistry, load_definitions
from .errors import ConfigurationError, InternalEventsError, MissingExtraError
from .exporters import (
    AnalyticsLogRecordProcessor,
    ExportLosses,
    JsonLinesExporter,
    RedisCounterExporter,
    SnowplowExporter,
)
from .metrics import MetricValue, RedisMetricValues, build_report
from .recording import EventRecorder
from .sinks import RedisCounterSink, SnowplowSinkSettings
from .tracking import Tracker

__all__ = [
    "INHERITED_SETTINGS",
    "RECORD_LIMITS",
    "Runtime",
    "activate",
    "configure",
    "configured",
    "current",
    "disabled_reason",
    "flush",
    "get_runtime",
    "reset",
    "shutdown",
]

_log = logging.getLogger("otel_internal_events")
_GLOB_SPECIAL = str.maketrans({c: "\\" + c for c in "*?[]\\"})
_KNOWN_EXPORTERS = {"redis", "otlp", "snowplow", "jsonl", "none"}


class Runtime:
    """Everything one configuration builds; :func:`configure` makes it the current one."""

    def __init__(
        self,
        settings: Settings,
        registry: DefinitionRegistry | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        unknown = sorted(set(settings.exporters) - _KNOWN_EXPORTERS)
        if unknown:
            raise ConfigurationError(
                f"unknown exporter(s): {', '.join(unknown)} (known: {', '.join(sorted(_KNOWN_EXPORTERS))})"
            )
        self.settings = settings
        self.registry = registry if registry is not None else load_definitions(*settings.definitions)
        provider = meter_provider or otel_metrics.get_meter_provider()
        self.meter: Meter = provider.get_meter(INSTRUMENTATION_SCOPE)
        #: What every processor and exporter of this runtime lost for good, by exporter.
        self.losses = ExportLosses(self.meter)
        self.logger_provider = _analytics_logger_provider()
        self.processors: dict[str, AnalyticsLogRecordProcessor] = {}
        self._redis: Any = None
        self._redis_lock = threading.Lock()
        renew_in_forked_child(self, Runtime._new_lock)  # a fork while another thread held it
        self.redis_sink: RedisCounterSink | None = None
        if "redis" in settings.exporters:
            _redis.check_available(settings.redis_url)
            if settings.redis_url:
                self.redis  # noqa: B018 - a bad URL fails here, loudly; no connection is opened yet
            # With no URL, configure() starts the embedded server (see _start_embedded).
            self.redis_sink = RedisCounterSink(
                _LazyClient(self), self.registry, settings.key_prefix, dedup_window_s=settings.dedup_window_seconds
            )
        # Every exporter is built (and its settings checked) before any processor starts a
        # thread, so that a configuration error leaves nothing running behind.
        exporters: list[tuple[str, Any]] = []
        if self.redis_sink is not None:
            exporters.append(("redis", RedisCounterExporter(self.redis_sink, self.losses)))
        if "otlp" in settings.exporters:
            exporters.append(("otlp", _otlp_exporter(settings)))
        if "jsonl" in settings.exporters:
            exporters.append(("jsonl", JsonLinesExporter(settings.jsonl_path)))
        self.snowplow_exporter: SnowplowExporter | None = None
        if _snowplow_wanted(settings):
            self.snowplow_exporter = _snowplow_exporter(settings, self.losses)
            exporters.append(("snowplow", self.snowplow_exporter))
        if len(exporters) > 1:
            # One queue for the caller; a dispatcher thread feeds each exporter's own queue.
            self._fan_out: AnalyticsLogRecordProcessor | None = self._processor("dispatch", None)
            self.logger_provider.add_log_record_processor(self._fan_out)
        else:
            self._fan_out = None
        for name, exporter in exporters:
            processor = self._processor(name, exporter)
            if self._fan_out is not None:
                self._fan_out.add_follower(processor)
            else:
                self.logger_provider.add_log_record_processor(processor)
            self.processors[name] = processor
        logger = self.logger_provider.get_logger(INSTRUMENTATION_SCOPE)
        self.recorder = EventRecorder(logger, self.meter)
        self.tracker = Tracker(self.registry, self.recorder, self.meter, strict=settings.strict, clock=settings.clock)

    def _new_lock(self) -> None:
        self._redis_lock = threading.Lock()

    def _processor(self, name: str, exporter: Any) -> AnalyticsLogRecordProcessor:
        s = self.settings
        return AnalyticsLogRecordProcessor(
            exporter,
            self.losses,
            name=name,
            max_queue_size=s.max_queue_size,
            max_export_batch_size=s.max_export_batch_size,
            schedule_delay_millis=s.schedule_delay_millis,
            retry_timeout_millis=s.retry_timeout_millis,
        )

    @property
    def redis(self) -> Any:
        """The redis-py client of the counters (connecting, or starting the embedded server)."""
        if self._redis is None:
            with self._redis_lock:
                if self._redis is None:
                    timeout_s = self.settings.export_timeout_millis / 1000
                    self._redis = _redis.connect(self.settings.redis_url, timeout_s=timeout_s)
        return self._redis

    def today(self) -> dt.date:
        """Today (UTC) by the configured clock."""
        return dt.datetime.fromtimestamp(self.settings.clock() / 1e9, dt.UTC).date()

    def reader(self) -> RedisMetricValues:
        return RedisMetricValues(self.redis, self.registry, self.settings.key_prefix)

    def metric_value(self, key_path: str, at: dt.date | None = None) -> MetricValue:
        return self.reader().value(key_path, at or self.today())

    def report(self, at: dt.date | None = None) -> dict[str, Any]:
        now = dt.datetime.fromtimestamp(self.settings.clock() / 1e9, dt.UTC)
        return build_report(self.registry, self.reader(), at or now.date(), recorded_at=now)

    @property
    def dispatcher(self) -> AnalyticsLogRecordProcessor | None:
        """The processor that hands each record to the exporters' queues, when there are several."""
        return self._fan_out

    def _all_processors(self) -> list[AnalyticsLogRecordProcessor]:
        """The dispatcher first (it feeds the others), then each exporter's processor."""
        first = [self._fan_out] if self._fan_out is not None else []
        return first + list(self.processors.values())

    def delete_keys(self) -> int:
        """Delete every Redis key under this runtime's key prefix (a demo's or a test's); how many.

        Refuses an empty prefix: that would be the whole server.
        """
        prefix = self.settings.key_prefix
        if not prefix:
            raise ValueError("delete_keys needs a key prefix; an empty one would match every key")
        client = self.redis
        keys = list(client.scan_iter(match=prefix.translate(_GLOB_SPECIAL) + "*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        return len(keys)

    def flush(self, timeout_millis: int = 30_000) -> bool:
        """Deliver what is queued; True when it drained and nothing was lost since the last flush."""
        # Every processor is flushed, even after one has reported a failure.
        results = [p.force_flush(timeout_millis) for p in self._all_processors()]
        return all(results)

    def lost_since_flush(self) -> int:
        """Records dropped or failed for good since the last flush, by any processor or exporter."""
        return sum(p.lost_since_flush() for p in self._all_processors())

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        for processor in self._all_processors():
            processor.shutdown(timeout_millis)
        if self._redis is not None:
            self._redis.close()


class _LazyClient:
    """The runtime's Redis client, connected (or the embedded server started) on first use."""

    __slots__ = ("_runtime",)

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def pipeline(self, transaction: bool = True) -> Any:
        return self._runtime.redis.pipeline(transaction=transaction)

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        return self._runtime.redis.evalsha(sha, numkeys, *keys_and_args)

    def script_load(self, script: str) -> Any:
        return self._runtime.redis.script_load(script)


#: Our attributes are validated already; the host's OTEL_ATTRIBUTE_* limits (meant for its own
#: telemetry) must not drop or truncate them, since filters and unique counts depend on them.
RECORD_LIMITS = LogRecordLimits(
    max_attributes=1024,
    max_attribute_length=1 << 20,
    max_log_record_attributes=1024,
    max_log_record_attribute_length=1 << 20,
)


def _analytics_logger_provider() -> LoggerProvider:
    """The private provider that carries the events.

    ``OTEL_SDK_DISABLED`` turns off the host's telemetry; product analytics are data the
    application asked for, so they keep flowing (and a line says so). The SDK reads the
    variable when a provider is built, so it is set aside while ours is (under the
    configuration lock).
    """
    with _lock:
        disabled = os.environ.pop(OTEL_SDK_DISABLED, None)
        try:
            provider = LoggerProvider(
                resource=Resource.create(), shutdown_on_exit=False, log_record_limits=RECORD_LIMITS
            )
        finally:
            if disabled is not None:
                os.environ[OTEL_SDK_DISABLED] = disabled
    if disabled is not None and disabled.strip().lower() == "true":
        _log.info("OTEL_SDK_DISABLED is set: it does not apply to internal events, which are still tracked")
    return provider


def _otlp_exporter(settings: Settings) -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    except ImportError:
        raise MissingExtraError("The otlp exporter", "otlp", "opentelemetry-exporter-otlp-proto-http") from None
    return OTLPLogExporter(endpoint=settings.otlp_endpoint, timeout=settings.export_timeout_millis / 1000)


def _snowplow_wanted(settings: Settings) -> bool:
    """Snowplow is on when a collector endpoint is set (unless exporters say ``none``)."""
    if "snowplow" in settings.exporters and not settings.snowplow_endpoint:
        raise ConfigurationError(
            f"the snowplow exporter needs a collector endpoint: set {ENV_PREFIX}SNOWPLOW_ENDPOINT or snowplow_endpoint"
        )
    return bool(settings.snowplow_endpoint) and "none" not in settings.exporters


def _snowplow_exporter(settings: Settings, losses: ExportLosses) -> SnowplowExporter:
    assert settings.snowplow_endpoint is not None
    sink_settings = SnowplowSinkSettings(
        settings.snowplow_endpoint,
        batch_size=settings.snowplow_batch_size,
        timeout_millis=settings.export_timeout_millis,
        app_id=settings.snowplow_app_id,
        namespace=settings.snowplow_namespace,
        environment=settings.snowplow_environment,
        standard_schema=settings.snowplow_standard_schema,
        pseudonymization_secret=settings.pseudonymization_secret,
        encode_base64=settings.snowplow_encode_base64,
    )
    return SnowplowExporter(sink_settings, losses, timeout_millis=settings.export_timeout_millis)


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
    """Build the pipeline from ``settings`` (or the environment plus ``overrides``) and make it current.

    A previous configuration is flushed and shut down first. Raises typed errors
    (:class:`~otel_internal_events.errors.DefinitionsInvalidError`, :class:`ConfigurationError`).
    """
    global _current, _disabled_reason
    if settings is None:
        settings = settings_from_env(**overrides)
    elif overrides:
        settings = settings.replace(**overrides)
    with _lock:
        runtime = Runtime(settings, registry, meter_provider)
        previous, _current, _disabled_reason = _current, runtime, None
        _watch_multiprocessing_children()
        _publish_for_children(settings, _start_embedded(runtime))
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

    threading.Thread(target=flush_then_end, name="otel-internal-events-exit", daemon=True).start()


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


def current() -> Runtime | None:
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
            if _strict_from_env():
                raise
            _disabled_reason = str(exc) if isinstance(exc, InternalEventsError) else repr(exc)
            _log.error("internal events tracking is off: configuration failed: %s", _disabled_reason)
            return None


get_runtime = current


def reset(timeout_millis: int = 30_000) -> bool:
    """:func:`shutdown`, and forget a failed automatic configuration: the next tracked event
    configures from the environment again (for tests, and the pytest plugin between sessions)."""
    return shutdown(timeout_millis)


def _strict_from_env() -> bool:
    """Strict mode as the environment asks it, read from its one variable.

    Not from the whole environment: a problem elsewhere (say a misspelt variable) must not
    turn production mode into raising into the host. An unreadable value means production.
    """
    value = os.environ.get(ENV_PREFIX + "STRICT")
    if value is None:
        return Settings().strict
    try:
        return _bool(value)
    except ValueError:
        return False


def shutdown(timeout_millis: int = 30_000) -> bool:
    """Deliver what is queued and stop the pipeline; the next tracked event configures anew.

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


def _at_exit() -> None:
    shutdown(5_000)
    _redis.embedded_server().stop()  # after the flush that may still write into it


atexit.register(_at_exit)
