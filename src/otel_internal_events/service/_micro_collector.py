"""A Snowplow Micro-style collector core: take tracker-protocol requests, keep good and bad events.

Framework-free: :meth:`MicroCollector.handle` maps (method, path, query, body) to a
:class:`MicroResponse`, so the stdlib HTTP server here and an ASGI gateway can both serve it.
The REST API is Snowplow Micro's:

* ``POST /com.snowplowanalytics.snowplow/tp2`` (batched events), ``GET /i`` (one event);
* ``/micro/all`` -> ``{"total", "good", "bad"}``, plus ``"dropped"`` once the bound below has
  dropped an event; ``/micro/good`` and ``/micro/bad`` -> the lists (a POST with a JSON body
  filters: ``schema``, ``event_type``, ``contexts``, ``limit``); ``/micro/reset`` empties both
  and answers the (zero) counts;
* ``/micro/iglu/<vendor>/<name>/<format>/<version>`` -> a schema the registry knows; ``/health``.

A request that cannot be read (malformed JSON, not a ``payload_data`` envelope) is answered
400 and kept as one bad event with the reason; a body over ``max_body_bytes`` is answered 413.
Every failure of a single event is a bad event, never an exception.

Memory is bounded: the lists keep the newest ``max_events`` of each kind, and the older ones
are dropped and counted (``dropped``); ``total``, ``good`` and ``bad`` stay exact counts of
everything received. An event is kept compact (a good one as its parameters, a bad one as it
came with its reasons; of a body that could not be read, the first 64 KiB), and the JSON views
are built when the lists are asked for, so each kept event holds at most what its request
carried.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from ._iglu_registry import IgluRegistry
from ._tracker_protocol import GoodEvent, ProtocolError, check_event, event_from_query, events_from_body, iso_time

__all__ = ["MicroCollector", "MicroResponse"]

_Kept = TypeVar("_Kept")

TP2_PATH = "/com.snowplowanalytics.snowplow/tp2"
GET_PATHS = frozenset({"/i", "/com.snowplowanalytics.snowplow/i"})
#: A 1x1 transparent GIF: what collectors answer to GET /i (it is loaded as an image).
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
#: Of a request body that could not be read, what is kept (with the bad event it makes).
_MAX_KEPT_BODY = 65_536
_CORS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Headers", "Content-Type"),
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
)


@dataclass(frozen=True, slots=True)
class MicroResponse:
    """What to answer: status, body and content type (plus headers such as CORS)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = _CORS

    @classmethod
    def json(cls, status: int, value: Any) -> MicroResponse:
        return cls(status, json.dumps(value).encode("utf-8"))


@dataclass(frozen=True, slots=True)
class _BadEvent:
    """A bad event as kept: the request it came in (method, path, time; a body that could not be
    read), the event as received and the reasons. :meth:`view` builds what ``/micro/bad`` shows."""

    request: Mapping[str, Any]
    raw: object
    errors: list[str]

    def view(self) -> dict[str, Any]:
        return {"collectorPayload": dict(self.request), "rawEvent": {"parameters": self.raw}, "errors": self.errors}


@dataclass(slots=True)
class _Store:
    good: deque[GoodEvent]
    bad: deque[_BadEvent]
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "good": 0, "bad": 0, "dropped": 0})


class MicroCollector:
    """Validates tracker-protocol events against ``registry`` and keeps them, good and bad.

    Thread-safe. ``max_events``: how many good events, and how many bad ones, are kept (the
    oldest are dropped, and counted). ``clock`` returns the collector time (UTC) stamped on
    each event.
    """

    def __init__(
        self,
        registry: IgluRegistry | None = None,
        *,
        max_events: int = 10_000,
        max_body_bytes: int = 1_000_000,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if max_events < 0:
            raise ValueError(f"max_events must not be negative, got {max_events}")
        self.registry = registry if registry is not None else IgluRegistry()
        self.max_body_bytes = max_body_bytes
        self._max_events = max_events
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.Lock()
        self._store = self._empty()

    def _empty(self) -> _Store:
        return _Store(deque(maxlen=self._max_events), deque(maxlen=self._max_events))

    # -- collecting ---------------------------------------------------------------------------

    def collect_post(self, body: bytes, path: str = TP2_PATH) -> MicroResponse:
        """Take one tracker-protocol POST body: 200 once split into events (each kept good or bad)."""
        now = iso_time(self._clock())
        if len(body) > self.max_body_bytes:
            return MicroResponse.json(413, {"error": f"body over {self.max_body_bytes} bytes"})
        try:
            events = events_from_body(body, self.registry)
        except ProtocolError as exc:
            text = body[:_MAX_KEPT_BODY].decode("utf-8", "replace")
            request = {"method": "POST", "path": path, "body": text, "timestamp": now}
            self._keep([], [_BadEvent(request, None, [str(exc)])])
            return MicroResponse.json(400, {"error": str(exc)})
        self._check_all(events, {"method": "POST", "path": path, "timestamp": now})
        return MicroResponse(200, b"ok", "text/plain")

    def collect_get(self, query: str, path: str = "/i") -> MicroResponse:
        """Take one GET ``/i`` event from its query string; answers the tracking pixel."""
        now = iso_time(self._clock())
        self._check_all([event_from_query(query)], {"method": "GET", "path": path, "timestamp": now})
        return MicroResponse(200, PIXEL, "image/gif")

    def _check_all(self, events: list[object], request: dict[str, Any]) -> None:
        """Check ``events`` (outside the lock), then keep them."""
        good: list[GoodEvent] = []
        bad: list[_BadEvent] = []
        for raw in events:
            item = check_event(raw, self.registry, request["timestamp"])
            if item.good is not None:
                good.append(item.good)
            else:
                bad.append(_BadEvent(request, item.raw, item.errors))
        self._keep(good, bad)

    def _keep(self, good: list[GoodEvent], bad: list[_BadEvent]) -> None:
        """Count and keep checked events; what falls off the bounded lists is counted as dropped."""
        with self._lock:
            store = self._store
            counts = store.counts
            counts["total"] += len(good) + len(bad)
            counts["good"] += len(good)
            counts["bad"] += len(bad)
            counts["dropped"] += max(0, len(store.good) + len(good) - self._max_events)
            counts["dropped"] += max(0, len(store.bad) + len(bad) - self._max_events)
            store.good.extend(good)
            store.bad.extend(bad)

    # -- reading ------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """``{"total", "good", "bad"}`` since the start or the last reset: exact counts of
        every event received. Once the bound on the lists has dropped an event, also
        ``"dropped"``: how many are no longer kept (the oldest ones)."""
        with self._lock:
            return _shown(self._store.counts)

    def good(self, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Good events, oldest first, filtered as Snowplow Micro does."""
        with self._lock:
            events = list(self._store.good)
        filters = filters or {}
        schema, event_type, contexts = filters.get("schema"), filters.get("event_type"), filters.get("contexts")
        if schema:
            events = [e for e in events if e.schema == schema]
        if event_type:
            events = [e for e in events if e.event_type == event_type]
        if contexts:
            wanted = [contexts] if isinstance(contexts, str) else list(contexts)
            events = [e for e in events if all(c in e.contexts for c in wanted)]
        return [event.view() for event in _limit(events, filters)]

    def bad(self, filters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Bad events, oldest first (``limit`` keeps the newest)."""
        with self._lock:
            events = list(self._store.bad)
        return [event.view() for event in _limit(events, filters or {})]

    def reset(self) -> dict[str, int]:
        """Forget every event; the (zero) counts."""
        with self._lock:
            self._store = self._empty()
            return _shown(self._store.counts)

    # -- the REST API ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str = "", body: bytes = b"") -> MicroResponse:
        """Answer one request; never raises for what a client sends."""
        method = method.upper()
        if method == "OPTIONS":
            return MicroResponse(204)
        if path == TP2_PATH and method == "POST":
            return self.collect_post(body, path)
        if path in GET_PATHS and method == "GET":
            return self.collect_get(query, path)
        if path == "/health":
            return MicroResponse(200, b"OK", "text/plain")
        if path.startswith("/micro/"):
            return self._micro(method, path.removeprefix("/micro/").rstrip("/"), query, body)
        return MicroResponse.json(404, {"error": f"no route {method} {path}"})

    def _micro(self, method: str, route: str, query: str, body: bytes) -> MicroResponse:
        if route == "all":
            return MicroResponse.json(200, self.counts())
        if route == "reset":
            return MicroResponse.json(200, self.reset())
        if route in {"good", "bad"}:
            filters: dict[str, Any] = dict(parse_qsl(query))
            if method == "POST" and body.strip():
                try:
                    posted = json.loads(body)
                except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                    return MicroResponse.json(400, {"error": f"malformed JSON filter: {exc}"})
                if not isinstance(posted, dict):
                    return MicroResponse.json(400, {"error": "the filter must be a JSON object"})
                filters.update(posted)
            return MicroResponse.json(200, self.good(filters) if route == "good" else self.bad(filters))
        if route.startswith("iglu/"):
            schema = self.registry.schema("iglu:" + route.removeprefix("iglu/"))
            if schema is None:
                return MicroResponse.json(404, {"error": f"schema not found: {route.removeprefix('iglu/')}"})
            return MicroResponse.json(200, schema)
        return MicroResponse.json(404, {"error": f"no route {method} /micro/{route}"})


def _shown(counts: dict[str, int]) -> dict[str, int]:
    """A copy of ``counts``, without ``dropped`` while it is zero: Snowplow Micro's shape until the bound matters."""
    shown = dict(counts)
    if not shown["dropped"]:
        del shown["dropped"]
    return shown


def _limit(events: list[_Kept], filters: Mapping[str, Any]) -> list[_Kept]:
    limit = filters.get("limit")
    try:
        count = int(limit) if limit is not None else None
    except (TypeError, ValueError):
        count = None
    return events[-count:] if count is not None and count > 0 else events
