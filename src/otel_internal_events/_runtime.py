"""Building a runtime: settings -> registry, tracker, OTel logger provider, processors, exporters.

A :class:`Runtime` has its own ``LoggerProvider``, so the host's logging set-up neither
receives our events by surprise nor can drop them; the ``otlp`` exporter sends the same
records to a Collector when asked. Which runtime is the current one is :mod:`._state`'s business.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry.metrics import Meter, MeterProvider
from opentelemetry.sdk._logs import LogRecordLimits
from opentelemetry.sdk.environment_variables import OTEL_SDK_DISABLED
from opentelemetry.sdk.resources import Resource

from . import _redis
from ._forks import renew_in_forked_child
from .config import ENV_PREFIX, Settings
from .conventions import INSTRUMENTATION_SCOPE
from .definitions import DefinitionRegistry, load_definitions
from .errors import ConfigurationError, MissingExtraError
from .exporters import (
    AnalyticsLoggerProvider,
    AnalyticsLogRecordProcessor,
    ExportLosses,
    FanOutExporter,
    JsonLinesExporter,
    RedisCounterExporter,
    SnowplowExporter,
)
from .metrics import MetricValue, RedisMetricValues, build_report
from .recording import EventRecorder
from .sinks import RedisCounterSink, SnowplowSinkSettings
from .tracking import Tracker

__all__ = ["RECORD_LIMITS", "Runtime"]

_log = logging.getLogger("otel_internal_events")
_GLOB_SPECIAL = str.maketrans({c: "\\" + c for c in "*?[]\\"})
_KNOWN_EXPORTERS = {"redis", "otlp", "snowplow", "jsonl", "none"}


class Runtime:
    """Everything one configuration builds: the definitions, the tracker, our own OpenTelemetry
    logger provider, a processor per exporter and the exporters; :func:`~otel_internal_events.configure`
    makes one the current one."""

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
        for name, exporter in exporters:
            self.processors[name] = self._processor(name, exporter)
        self._fan_out: AnalyticsLogRecordProcessor | None = None
        if len(self.processors) > 1:
            # One queue for the caller; its thread feeds each exporter's own queue.
            self._fan_out = self._processor("dispatch", FanOutExporter(list(self.processors.values())))
            self.logger_provider.add_log_record_processor(self._fan_out)
        else:
            for processor in self.processors.values():
                self.logger_provider.add_log_record_processor(processor)
        # With the OTLP exporter, records leave the process as OpenTelemetry log records: the
        # SDK's logger builds them. Otherwise the direct logger skips the SDK's second check of
        # the attributes the tracker has checked (see exporters/_handoff.py).
        logger = (
            self.logger_provider.get_logger(INSTRUMENTATION_SCOPE)
            if "otlp" in settings.exporters
            else self.logger_provider.direct_logger(INSTRUMENTATION_SCOPE)
        )
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

    @property
    def redis_url(self) -> str:
        """The URL of the counters' Redis: the one set, else the embedded server's (started if need be)."""
        return self.settings.redis_url or _redis.embedded_server().url

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


#: Held while the environment is changed for a moment (see _analytics_logger_provider).
_ENVIRONMENT_LOCK = threading.Lock()

#: Our attributes are validated already; the host's OTEL_ATTRIBUTE_* limits (meant for its own
#: telemetry) must not drop or truncate them, since filters and unique counts depend on them.
RECORD_LIMITS = LogRecordLimits(
    max_attributes=1024,
    max_attribute_length=1 << 20,
    max_log_record_attributes=1024,
    max_log_record_attribute_length=1 << 20,
)


def _analytics_logger_provider() -> AnalyticsLoggerProvider:
    """The private provider that carries the events.

    ``OTEL_SDK_DISABLED`` turns off the host's telemetry; product analytics are data the
    application asked for, so they keep flowing (and a line says so). The SDK reads the
    variable when a provider is built, so it is set aside while ours is (under a lock).
    """
    with _ENVIRONMENT_LOCK:
        disabled = os.environ.pop(OTEL_SDK_DISABLED, None)
        try:
            provider = AnalyticsLoggerProvider(Resource.create(), RECORD_LIMITS)
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
    return settings.sends_to_snowplow


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
    return SnowplowExporter(
        sink_settings,
        losses,
        timeout_millis=settings.export_timeout_millis,
        retry_timeout_millis=settings.retry_timeout_millis,
        processes=settings.snowplow_processes,
    )
