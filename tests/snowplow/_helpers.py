"""Helpers of the Snowplow tests: the micro collector read over HTTP, a scripted collector, waits."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from otel_internal_events.service import SnowplowMicroServer

SECRET = "test-pseudonymization-secret"
SHIPPED_DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
#: The time of the module runtimes' clock: the one of the root ``clock`` fixture.
NOW = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
#: Events per request of the module runtimes, so that a test can see a batch split into requests.
SHARED_BATCH_SIZE = 10


@dataclass
class Micro:
    """A running micro collector, read through its HTTP API; ``requests`` holds every raw request."""

    server: SnowplowMicroServer
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.loads(response.read())

    def all(self) -> dict[str, int]:
        counts: dict[str, int] = self.get("/micro/all")
        return counts

    def good(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.get("/micro/good")
        return events

    def bad(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.get("/micro/bad")
        return events

    def reset(self) -> None:
        """Forget every event (``/micro/reset``) and every request seen so far."""
        assert self.get("/micro/reset") == {"total": 0, "good": 0, "bad": 0}
        self.requests.clear()  # after the reset request, which the tap saw too


def start_micro(port: int = 0) -> Micro:
    micro = Micro(server=SnowplowMicroServer(port=port))
    micro.server.on_request = lambda method, target, body: micro.requests.append((method, target, body))
    micro.server.start()
    return micro


class ScriptedCollector(ThreadingHTTPServer):
    """A tiny collector stand-in that answers each POST with the next status of ``statuses``
    (the last one repeats), counts the requests and the events in them, and keeps each
    request's payloads. With ``hold``, requests from number ``hold_from`` (0-based) on wait
    for it before answering."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, statuses: list[int], hold: threading.Event | None = None, hold_from: int = 0) -> None:
        self.statuses = statuses
        self.hold = hold
        self.hold_from = hold_from
        self.received = threading.Event()
        #: Set when a request waits for ``hold``.
        self.holding = threading.Event()
        self.requests = 0
        self.events = 0
        #: The payloads of each request, in the order they came.
        self.batches: list[list[dict[str, str]]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def event_ids(self) -> list[list[str]]:
        """The event ids of each request."""
        with self.lock:
            return [[payload["eid"] for payload in batch] for batch in self.batches]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.shutdown()
        self.thread.join(5)
        self.server_close()


class _ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: ScriptedCollector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        payloads = json.loads(body)["data"]
        with self.server.lock:
            number = self.server.requests
            index = min(number, len(self.server.statuses) - 1)
            self.server.requests += 1
            self.server.events += len(payloads)
            self.server.batches.append(payloads)
        self.server.received.set()
        if self.server.hold is not None and number >= self.server.hold_from:
            self.server.holding.set()
            self.server.hold.wait(10)
        self.send_response(self.server.statuses[index])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def decoded_contexts(parameters: dict[str, str]) -> Any:
    """The contexts envelope of a raw tracker-protocol event (``cx`` base64 or ``co`` JSON)."""
    if "cx" in parameters:
        value = parameters["cx"]
        return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    return json.loads(parameters["co"])


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass (a bounded wait, no timing claim)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
