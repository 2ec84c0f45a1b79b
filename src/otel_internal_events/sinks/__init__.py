"""Sinks: turn validated events into writes. Shared by the in-process exporters and the gateway."""

from ._event import Identifier, TrackedEvent, event_from_attributes
from ._redis_counters import RedisClient, RedisCounterSink, WritePlan, unique_member

__all__ = [
    "Identifier",
    "RedisClient",
    "RedisCounterSink",
    "TrackedEvent",
    "WritePlan",
    "event_from_attributes",
    "unique_member",
]
