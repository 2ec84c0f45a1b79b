"""The micro collector over HTTP: a stdlib ``ThreadingHTTPServer`` in front of :class:`MicroCollector`.

HTTP/1.1 keep-alive with ``TCP_NODELAY`` on every connection: without it a keep-alive client
waits ~40 ms per response on the delayed ACK (baselines §2f). The body size is checked from
``Content-Length`` before reading (413, connection closed). ``start()`` serves from a
background thread, so a test or a demo can run it in-process on port 0.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from ._micro_collector import MicroCollector, MicroResponse

__all__ = ["SnowplowMicroServer"]

_log = logging.getLogger("otel_internal_events.service")
#: ``on_request(method, target, body)``: sees every request as received (for tests and debugging).
RequestTap = Callable[[str, str, bytes], None]
_MAX_DRAINED = 16 * 1024 * 1024


class _MicroHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 30  # an idle or stalled connection gives its thread back
    server: SnowplowMicroServer

    def do_GET(self) -> None:
        self._serve(b"")

    def do_OPTIONS(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self._refuse(MicroResponse.json(411, {"error": "Content-Length is required"}), close=True)
            return
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError(length_header)
        except ValueError:
            self._refuse(MicroResponse.json(400, {"error": f"bad Content-Length {length_header!r}"}), close=True)
            return
        limit = self.server.collector.max_body_bytes
        if length > limit:
            # Read and drop a body of sane size, so that the client, still writing it, gets the
            # 413 rather than a reset connection (which it would take for a network error).
            drained = length <= _MAX_DRAINED and self._drain(length)
            self._refuse(MicroResponse.json(413, {"error": f"body over {limit} bytes"}), close=not drained)
            return
        self._serve(self.rfile.read(length))

    def _refuse(self, response: MicroResponse, close: bool) -> None:
        """Answer a request whose body was not read (the tap sees it with an empty body)."""
        self._tap(b"")
        self._answer(response, close=close)

    def _tap(self, body: bytes) -> None:
        tap = self.server.on_request
        if tap is not None:
            try:
                tap(self.command, self.path, body)
            except Exception:
                _log.exception("micro collector: the on_request tap failed")

    def _drain(self, length: int) -> bool:
        while length > 0:
            chunk = self.rfile.read(min(length, 65_536))
            if not chunk:
                return False
            length -= len(chunk)
        return True

    def _serve(self, body: bytes) -> None:
        target = urlsplit(self.path)
        self._tap(body)
        try:
            response = self.server.collector.handle(self.command, target.path, target.query, body)
        except Exception:
            _log.exception("micro collector: error answering %s %s", self.command, target.path)
            response = MicroResponse.json(500, {"error": "internal error"})
        self._answer(response)

    def _answer(self, response: MicroResponse, close: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("micro collector: " + format, *args)


class SnowplowMicroServer(ThreadingHTTPServer):
    """The micro collector on ``host:port`` (port 0: a free one; see :attr:`url`).

    Use as a context manager, or ``start()`` / ``stop()``; ``stop()`` also closes the
    keep-alive connections still open, so no thread or socket outlives it.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        collector: MicroCollector | None = None,
        *,
        on_request: RequestTap | None = None,
    ) -> None:
        self.collector = collector if collector is not None else MicroCollector()
        self.on_request = on_request
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _MicroHandler)

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    @property
    def url(self) -> str:
        """The collector endpoint, e.g. ``http://127.0.0.1:9090``."""
        host = self.server_address[0]
        host = host if isinstance(host, str) else host.decode()
        return f"http://{'127.0.0.1' if host in {'0.0.0.0', ''} else host}:{self.port}"

    def start(self) -> SnowplowMicroServer:
        """Serve from a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="snowplow-micro", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and every open connection."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()
        with self._connections_lock:
            open_connections, self._connections = list(self._connections), set()
        for connection in open_connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that goes away is routine (debug); anything else is logged, never printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            _log.debug("micro collector: connection from %s closed by the client", client_address)
        else:
            _log.exception("micro collector: error on the connection from %s", client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def __enter__(self) -> SnowplowMicroServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
