"""Helpers of the Snowplow tests: the micro collector read over HTTP, a scripted collector, waits."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_internal_events.exporters import AnalyticsLogRecordProcessor, ExportLosses, SnowplowExporter
from otel_internal_events.service import SnowplowMicroServer
from otel_internal_events.sinks import SnowplowSinkSettings
from otel_internal_events.wire import encode

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


#: A record's time in the hand-made log records (2025-11-25).
TIMESTAMP = 1_764_072_000_000_000_000


def log_record(event: str, user: int, timestamp: int | None = TIMESTAMP, send_snowplow: bool = True) -> Any:
    """A log record (as an exporter receives it) as the recorder writes it; without a timestamp
    it cannot be built."""
    record = SimpleNamespace(
        event_name=event,
        timestamp=timestamp,
        observed_timestamp=None,
        trace_id=None,
        attributes=encode(event, user_id=user, send_snowplow=send_snowplow),
    )
    return SimpleNamespace(log_record=record)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class ScriptedSnowplow:
    """A Snowplow exporter (requests of two events) behind its processor, sending to a scripted
    collector; :meth:`begin` gives a test a fresh script, and the counts below start there."""

    def __init__(self, request_timeout_millis: int, retry_timeout_millis: int) -> None:
        self.collector = ScriptedCollector([200])
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        losses = ExportLosses(self.meter_provider.get_meter("test"))
        settings = SnowplowSinkSettings(
            self.collector.url, batch_size=2, timeout_millis=request_timeout_millis, pseudonymization_secret=SECRET
        )
        # One export process: the scripts below are sequences of one child's requests.
        self.exporter = SnowplowExporter(
            settings,
            losses,
            timeout_millis=request_timeout_millis,
            retry_timeout_millis=retry_timeout_millis,
            processes=1,
        )
        self.processor = AnalyticsLogRecordProcessor(self.exporter, losses, name="snowplow", schedule_delay_millis=5)
        self._failed_before: dict[str, int] = {}
        self._stats_before: dict[str, int] = {}

    def begin(self, statuses: list[int], hold: threading.Event | None = None, hold_from: int = 0) -> ScriptedCollector:
        self.processor.force_flush(10_000)  # also: the next flush says whether this test lost records
        collector = self.collector
        if collector.hold is not None:
            collector.hold.set()  # let go of what an earlier test held
        with collector.lock:
            collector.statuses, collector.hold, collector.hold_from = statuses, hold, hold_from
            collector.requests = collector.events = 0
            collector.batches.clear()
        collector.received.clear()
        collector.holding.clear()
        self._failed_before, self._stats_before = self._failed(), self.exporter.stats
        return collector

    def send(self, records: list[Any]) -> bool:
        """Queue ``records`` as one batch and flush: True when none was lost."""
        self.processor.enqueue_unit(records)
        return self.processor.force_flush(10_000)

    def failed(self) -> dict[str, int]:
        """The Snowplow records failed since the test began, by reason."""
        before = self._failed_before
        return {
            reason: count - before.get(reason, 0)
            for reason, count in self._failed().items()
            if count != before.get(reason, 0)
        }

    def stats(self) -> dict[str, int]:
        """The exporter's stats since the test began."""
        return {key: value - self._stats_before[key] for key, value in self.exporter.stats.items()}

    def accepted_ids(self) -> list[str]:
        """The event ids of the requests the collector accepted (2xx), in order."""
        statuses = self.collector.statuses
        return [
            event_id
            for number, ids in enumerate(self.collector.event_ids())
            if 200 <= statuses[min(number, len(statuses) - 1)] < 300
            for event_id in ids
        ]

    def assert_each_counted_once(self, records: int) -> None:
        """Each event the collector accepted is counted delivered once, and every other record failed."""
        accepted = set(self.accepted_ids())
        assert self.stats()["delivered"] == len(accepted)
        assert len(accepted) + sum(self.failed().values()) == records

    def _failed(self) -> dict[str, int]:
        data = self.reader.get_metrics_data()
        return {
            str(point.attributes["reason"]): int(point.value)
            for resource_metrics in (data.resource_metrics if data else ())
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
            if metric.name == "internal_events.export.failed"
            for point in metric.data.data_points
            if point.attributes["exporter"] == "snowplow"
        }

    def close(self) -> None:
        self.collector.stop()
        self.processor.shutdown(5_000)
        self.meter_provider.shutdown()
