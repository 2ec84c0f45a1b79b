"""The events API's rate limit: events per minute per token, counted in Redis.

The count lives in Redis (one ``INCRBY`` and ``EXPIRE`` per request) so that a pool of
gateways shares one limit per token, as it shares the counters. The window is the calendar
minute; a request that would go over the limit is refused whole (it uses none of the
allowance) and told when the minute ends.
"""

from __future__ import annotations

from typing import Any

from ._gateway import GatewayUnavailable

__all__ = ["RateLimiter"]


class RateLimiter:
    """``limit`` events per minute per token digest; ``limit`` 0 means no limit."""

    def __init__(self, redis: Any, limit: int, key_prefix: str = "") -> None:
        self._redis = redis
        self._limit = limit
        self._prefix = f"{key_prefix}{{api_rate}}_"

    @property
    def limit(self) -> int:
        return self._limit

    def take(self, digest: str, events: int, now_s: float) -> int:
        """Count ``events`` for the token; 0 when allowed, else the seconds to wait.

        Raises :class:`GatewayUnavailable` when Redis cannot be reached.
        """
        if not self._limit:
            return 0
        minute = int(now_s // 60)
        key = f"{self._prefix}{digest[:32]}-{minute}"
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.incrby(key, events)
            pipe.expire(key, 120)
            used, _ = pipe.execute()
            if int(used) <= self._limit:
                return 0
            self._redis.decrby(key, events)  # a refused request uses none of the allowance
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise GatewayUnavailable(f"Redis is not reachable: {exc}", retry_after_s=5) from None
        return max(1, 60 - int(now_s % 60))
