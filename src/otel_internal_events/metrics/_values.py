"""Metric values from Redis: PFCOUNT over unions of weekly keys, sums of counters."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from ..definitions import DefinitionRegistry, MetricDefinition
from ._keys import RedisKeys
from ._timeframes import weeks_for

__all__ = ["MetricValue", "RedisClient", "RedisMetricValues"]

_log = logging.getLogger("otel_internal_events.metrics")

#: A metric's value; -1 when Redis could not be read (as GitLab's Service Ping reports it).
MetricValue = int | float


class RedisClient(Protocol):
    """What counters need of a redis-py client: a pipeline, and running a loaded script."""

    def pipeline(self, transaction: bool = True) -> Any: ...

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any: ...

    def script_load(self, script: str) -> Any: ...


class RedisMetricValues:
    """Computes metric values as of a day, in one round trip however many metrics are read."""

    def __init__(self, client: RedisClient, registry: DefinitionRegistry, key_prefix: str = "") -> None:
        self._client = client
        self._registry = registry
        self._keys = RedisKeys(key_prefix)

    def keys_for(self, metric: MetricDefinition, at: dt.date) -> list[str]:
        """The Redis keys ``metric`` reads as of ``at``, without duplicates."""
        weeks = weeks_for(metric.time_frame, at)
        keys = (self._keys.key(rule, week) for rule in metric.rules for week in weeks)
        return list(dict.fromkeys(keys))

    def value(self, key_path: str, at: dt.date) -> MetricValue:
        """The value of the metric at ``key_path`` as of ``at``."""
        return self.values([self._registry.metric(key_path)], at)[key_path]

    def values(self, metrics: Iterable[MetricDefinition], at: dt.date) -> dict[str, MetricValue]:
        """Values of ``metrics`` as of ``at``; -1 for each metric whose read failed."""
        metrics = list(metrics)
        pipe = self._client.pipeline(transaction=False)
        counts = []
        for metric in metrics:
            keys = self.keys_for(metric, at)
            if metric.kind == "unique":
                pipe.pfcount(*keys)
                counts.append(1)
            else:
                # One GET per key, not MGET: MGET answers nil for a key of the wrong type,
                # which would read as 0 instead of an error (-1, as GitLab's GET gives).
                for key in keys:
                    pipe.get(key)
                counts.append(len(keys))
        try:
            replies = pipe.execute(raise_on_error=False)
        except Exception as exc:  # the server is unreachable: every value is unknown
            _log.warning("cannot read metric values from Redis: %r", exc)
            return {metric.key_path: -1 for metric in metrics}
        values: dict[str, MetricValue] = {}
        start = 0
        for metric, count in zip(metrics, counts, strict=True):
            values[metric.key_path] = _value(metric, replies[start : start + count])
            start += count
        return values


def _value(metric: MetricDefinition, replies: list[Any]) -> MetricValue:
    try:
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        if metric.kind == "unique":
            return int(replies[0])
        present = [r for r in replies if r is not None]
        if metric.kind == "sum":
            total = float(sum(float(r) for r in present))
            return int(total) if total.is_integer() else total
        return sum(int(r) for r in present)
    except Exception as exc:  # a command error, or a value that is not a number
        _log.warning("cannot read metric %s: %r", metric.key_path, exc)
        return -1
