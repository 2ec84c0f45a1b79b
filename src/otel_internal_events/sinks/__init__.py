"""Sinks: turn validated events into writes. Shared by the in-process exporters and the gateway."""

from ._redis_counters import (
    BATCH_MARKER_TAG,
    DEDUP_WINDOW_SECONDS,
    RedisClient,
    RedisCounterSink,
    WritePlan,
    unique_member,
)
from ._snowplow import DEFAULT_CATEGORY, NO_SECRET_WARNING, SnowplowSink, SnowplowSinkSettings, pseudonymize
from ._snowplow_emitter import Payload, SendResult, SnowplowEmitter, collector_url
from ._snowplow_tracker import load_snowplow_tracker, require_snowplow_tracker

__all__ = [
    "BATCH_MARKER_TAG",
    "DEDUP_WINDOW_SECONDS",
    "DEFAULT_CATEGORY",
    "NO_SECRET_WARNING",
    "Payload",
    "RedisClient",
    "RedisCounterSink",
    "SendResult",
    "SnowplowEmitter",
    "SnowplowSink",
    "SnowplowSinkSettings",
    "WritePlan",
    "collector_url",
    "load_snowplow_tracker",
    "pseudonymize",
    "require_snowplow_tracker",
    "unique_member",
]
