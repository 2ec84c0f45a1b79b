"""Caller cost of track_internal_event next to its peers: PostHog, Segment and snowplow-tracker.

Measured in this run, in µs per call on the caller's thread, each client with its default
asynchronous delivery (a queue and a sending thread) to a local HTTP server in a process of its
own (HTTP/1.1, keep-alive, every request answered 200 at once with a body each client accepts):

* ours: ``track_internal_event`` (the shipped ``definitions/``, a user, a project and two
  properties), default exporter (Redis; with no --redis-url an embedded server);
* ours + Snowplow: the same with ``snowplow_endpoint`` set to the local server (the like-for-like
  comparison: every event also goes out over HTTP as a Snowplow structured event);
* posthog-python ``Posthog(api_key, host=...).capture(...)``, default consumer thread;
* Segment's analytics-python ``Client(write_key, host=...).track(...)``, default consumer thread;
* snowplow-tracker ``Tracker(namespace, emitters=AsyncEmitter(...))``: ``track(StructuredEvent(...))``
  (``track_struct_event`` is deprecated in snowplow-tracker 1.x). Batches of 200 events as
  ours sends to Snowplow (its default is 10) and a keep-alive ``requests.Session`` (its default
  opens a connection per request).

Comparable payloads: a user id, a project id and two properties (label, property). The peers
take the project id as a property; snowplow-tracker as a one-field context entity, the user id
in a per-event ``Subject``.

Each round runs every client for --calls calls, in an order that rotates from round to round,
then delivers (flushes) what it queued before the next client starts, outside the timed part:
so each client's own sending thread takes its GIL share during its own calls only (--chunks:
chunks of 250 calls that alternate between the clients instead, as bench_decorator.py does;
then one client's sending thread runs during the others' chunks too). Two clocks: wall time
(what the caller waits, including the GIL share of the client's background thread) and the
caller thread's own CPU time (``time.thread_time``). The first round is a warm-up; the figure
is the median of the rounds. On a machine with 2+ CPUs this process runs on one CPU and its
helper processes (the server, Redis, our Snowplow export process) on the others.

No event may be dropped to look cheap: PostHog's and Segment's queues (default 10,000, dropping
new events when full) are set to hold a whole round (at least 100,000); snowplow-tracker's
buffer only holds events up to a batch before handing them to an unbounded queue. The server
counts the events it received per client, each client's own warnings of drops and send errors
are counted, and ours must flush clean; any shortfall is printed.

Target: ours the lowest (ours and ours + Snowplow each below every peer, on each clock).

The peers are optional and not dependencies of this project; install them with

    .venv/bin/pip install posthog segment-analytics-python

(snowplow-tracker is a dependency already). A peer that is not installed is skipped with the
command that installs it.

    python benchmarks/bench_peers.py [--calls 10000] [--rounds 7] [--chunks] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import logging
import statistics
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import otel_internal_events as oie
from bench_snowplow import collector_process, pin_helpers_apart
from otel_internal_events.definitions import load_definitions

ROOT = Path(__file__).resolve().parents[1]
EVENT = "create_merge_request"
PREFIX = "bench-peers:"
SECRET = "bench-secret"
CHUNK = 250
#: A context entity that carries the project id to snowplow-tracker's collector.
PROJECT_SCHEMA = "iglu:com.example/project/jsonschema/1-0-0"
INSTALL = "{python} -m pip install {package}"
#: The peers take string ids (made once, outside the timed part); ours takes the integer.
USERS = [str(u) for u in range(500)]

#: Accepts every request and answers 200 at once, on keep-alive connections, with a JSON body
#: that PostHog (``{"status": 1}``) and Segment (any JSON object) accept; Snowplow takes any 200.
#: Counts requests and events per path (an event: one occurrence of the event name in quotes,
#: which each client's body holds once per event); ``GET /stats`` answers the counts.
SERVER = r"""
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARK = sys.argv[1].encode()
counts = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: the status line and headers go out in one write and the body in another;
    # with Nagle's algorithm the body would wait for the client's delayed ACK (~40 ms a request).
    disable_nagle_algorithm = True

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def count(self, data):
        path = self.path.split("?", 1)[0]
        with lock:
            entry = counts.setdefault(path, {"requests": 0, "events": 0})
            entry["requests"] += 1
            entry["events"] += data.count(MARK)

    def do_POST(self):
        self.count(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.answer(b'{"status": 1}')

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                self.answer(json.dumps(counts).encode())
        else:
            self.count(self.path.encode())
            self.answer(b'{"status": 1}')

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
"""


class Project:
    def __init__(self, pid: int) -> None:
        self.id = pid
        self.namespace = 1000 + pid % 10


class Problems(logging.Handler):
    """Counts the warnings and errors a client library logs (drops, failed sends), by logger."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}
        self.first: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name.split(".")[0]
        self.counts[name] = self.counts.get(name, 0) + 1
        self.first.setdefault(name, record.getMessage()[:200])


@dataclass
class Contender:
    name: str
    call: Callable[[int], Any]
    #: Delivers everything queued; called outside the timed part.
    flush: Callable[[], Any]
    #: The server path its events arrive at (None: not sent over HTTP).
    path: str | None
    #: The logger its library reports drops and send errors on (None: counted otherwise).
    logger: str | None = None
    version: str = ""
    before: Callable[[], Any] = lambda: None
    runtime: Any = None
    close: Callable[[], Any] = lambda: None
    #: Problems that its own accounting reported (send errors, a flush that lost events).
    errors: list[str] = field(default_factory=list)
    tracked: int = 0
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def missing(package: str) -> None:
    print(f"   {package} is not installed: skipped. Install it with:")
    print(f"   {INSTALL.format(python='.venv/bin/python', package=package)}")


def ours(url: str, redis_url: str) -> list[Contender]:
    registry = load_definitions(str(ROOT / "definitions"))
    base = oie.Settings(definitions=(str(ROOT / "definitions"),), redis_url=redis_url, key_prefix=PREFIX)
    runtimes = {
        "ours": oie.Runtime(base, registry),
        "ours + Snowplow": oie.Runtime(
            base.replace(snowplow_endpoint=url + "/ours", pseudonymization_secret=SECRET), registry
        ),
    }
    track = oie.track_internal_event
    projects = [Project(p) for p in range(50)]

    def call(i: int) -> None:
        track(
            EVENT, user=i % 500, project=projects[i % 50], additional_properties={"label": "web", "property": "draft"}
        )

    contenders = []
    for name, runtime in runtimes.items():
        contender = Contender(
            name,
            call,
            flush=lambda: None,
            path="/ours/com.snowplowanalytics.snowplow/tp2" if runtime.snowplow_exporter else None,
            version=version("otel-internal-events"),
            before=lambda runtime=runtime: oie.activate(runtime),
            close=runtime.shutdown,
            runtime=runtime,
        )

        def flush(runtime: Any = runtime, contender: Contender = contender) -> None:
            if not runtime.flush(120_000):
                contender.errors.append("flush() False: events lost (see the exporters' stats)")

        contender.flush = flush
        contenders.append(contender)
    return contenders


def posthog(url: str, queue_size: int) -> Contender | None:
    try:
        from posthog import Posthog
    except ImportError:
        missing("posthog")
        return None
    contender = Contender("posthog", lambda i: None, lambda: None, "/batch/", "posthog", version("posthog"))
    client = Posthog(
        "phc_bench",
        host=url,
        max_queue_size=queue_size,
        on_error=lambda error, batch: contender.errors.append(f"{error!r} ({len(batch)} events)"),
    )
    capture = client.capture

    def call(i: int) -> None:
        capture(
            EVENT,
            distinct_id=USERS[i % 500],
            properties={"project_id": i % 50, "label": "web", "property": "draft"},
        )

    contender.call, contender.flush, contender.close = call, lambda: client.flush(120), client.shutdown
    return contender


def segment(url: str, queue_size: int) -> Contender | None:
    try:
        from segment import analytics
    except ImportError:
        missing("segment-analytics-python")
        return None
    contender = Contender(
        "segment", lambda i: None, lambda: None, "/v1/batch", "segment", version("segment-analytics-python")
    )
    client = analytics.Client(
        "bench-write-key",
        host=url,
        max_queue_size=queue_size,
        on_error=lambda error, batch: contender.errors.append(f"{error!r} ({len(batch)} events)"),
    )
    track = client.track

    def call(i: int) -> None:
        track(
            user_id=USERS[i % 500],
            event=EVENT,
            properties={"project_id": i % 50, "label": "web", "property": "draft"},
        )

    contender.call, contender.flush, contender.close = call, client.flush, client.shutdown
    return contender


def snowplow(url: str) -> Contender:
    import requests
    from snowplow_tracker import AsyncEmitter, SelfDescribingJson, StructuredEvent, Subject, Tracker

    contender = Contender(
        "snowplow-tracker",
        lambda i: None,
        lambda: None,
        "/peer/com.snowplowanalytics.snowplow/tp2",
        "snowplow_tracker",
        version("snowplow-tracker"),
    )
    emitter = AsyncEmitter(
        url + "/peer",
        batch_size=200,
        session=requests.Session(),
        on_failure=lambda sent, unsent: contender.errors.append(f"{len(unsent)} events not sent"),
    )
    tracker = Tracker("bench", emitters=emitter, app_id="bench-peer")
    track = tracker.track

    def call(i: int) -> None:
        track(
            StructuredEvent(
                "bench",
                EVENT,
                label="web",
                property_="draft",
                event_subject=Subject().set_user_id(USERS[i % 500]),
                context=[SelfDescribingJson(PROJECT_SCHEMA, {"project_id": i % 50})],
            )
        )

    contender.call, contender.flush = call, tracker.flush
    return contender


def timed(contender: Contender, first: int, count: int) -> tuple[float, float]:
    """(wall, caller-thread CPU) seconds of ``count`` calls from ``first``."""
    call = contender.call
    contender.before()
    wall, cpu = time.perf_counter(), time.thread_time()
    for i in range(first, first + count):
        call(i)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    contender.tracked += count
    return wall, cpu


def one_round(contenders: list[Contender], calls: int, turn: int, chunks: bool) -> None:
    """``calls`` calls of each contender; records its µs per call on both clocks."""
    order = contenders[turn % len(contenders) :] + contenders[: turn % len(contenders)]
    totals = {c.name: [0.0, 0.0] for c in contenders}
    if chunks:
        for number, offset in enumerate(range(0, calls, CHUNK)):
            shift = number % len(order)
            for contender in order[shift:] + order[:shift]:
                wall, cpu = timed(contender, offset, min(CHUNK, calls - offset))
                totals[contender.name][0] += wall
                totals[contender.name][1] += cpu
        for contender in order:
            contender.flush()
    else:
        for contender in order:
            gc.collect()
            totals[contender.name] = list(timed(contender, 0, calls))
            contender.flush()
    for contender in contenders:
        contender.wall.append(totals[contender.name][0] / calls * 1e6)
        contender.cpu.append(totals[contender.name][1] / calls * 1e6)


def server_stats(url: str) -> dict[str, dict[str, int]]:
    with urllib.request.urlopen(url + "/stats", timeout=30) as response:
        stats: dict[str, dict[str, int]] = json.loads(response.read())
        return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="calls per client and round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--chunks", action="store_true", help="alternate the clients in chunks of 250 calls")
    parser.add_argument("--redis-url", default=None, help="default: an embedded server")
    args, _ = parser.parse_known_args()  # `tasks.py bench` passes its arguments to every benchmark
    queue_size = max(100_000, 2 * args.calls)
    problems = Problems()
    for name in ("posthog", "segment", "snowplow_tracker"):
        logging.getLogger(name).addHandler(problems)
        logging.getLogger(name).propagate = False  # counted here, not printed on every drop

    # no URL: the embedded server, started by this configuration (and kept for the process)
    redis_url = args.redis_url or oie.configure(oie.Settings(definitions=(str(ROOT / "definitions"),))).redis_url
    oie.shutdown()
    print(f"caller cost, {args.calls:,} calls per client x {args.rounds} rounds (median), ", end="")
    print("chunks of 250 alternating" if args.chunks else "each client in turn, flushed between")
    with collector_process(SERVER, f'"{EVENT}"') as url:
        contenders = ours(url, redis_url)
        for peer in (posthog(url, queue_size), segment(url, queue_size), snowplow(url)):
            if peer is not None:
                contenders.append(peer)
        one_round(contenders, max(args.calls // 5, CHUNK), 0, args.chunks)  # warm-up: threads, processes, caches
        pinned = pin_helpers_apart()
        for contender in contenders:
            contender.wall.clear()
            contender.cpu.clear()
        for turn in range(args.rounds):
            one_round(contenders, args.calls, turn, args.chunks)
        for contender in contenders:
            contender.flush()
        received = server_stats(url)
        ours_stats: dict[str, dict[str, Any]] = {}
        for contender in contenders:
            if contender.runtime is not None:
                runtime = contender.runtime
                ours_stats[contender.name] = {name: p.stats for name, p in runtime.processors.items()}
                if runtime.snowplow_exporter is not None:
                    ours_stats[contender.name]["snowplow exporter"] = runtime.snowplow_exporter.stats
        contenders[0].runtime.delete_keys()  # both of ours write under PREFIX
        oie.activate(None)
        for contender in contenders:
            contender.close()
    if pinned:
        print("(this process on one CPU, the server, Redis and our Snowplow export process on the others)")
    print(f"peer queues set to {queue_size:,} events (PostHog max_queue_size, Segment max_queue_size)")
    print()
    base = {c.name: c for c in contenders if c.name.startswith("ours")}
    width = max(len(f"{c.name} {c.version}") for c in contenders)
    print(f"{'client':<{width}}  {'wall us/call':>12}  {'cpu us/call':>11}  {'/ours':>6}  {'/ours+Snowplow':>14}")
    medians = {c.name: (statistics.median(c.wall), statistics.median(c.cpu)) for c in contenders}
    for contender in contenders:
        wall, cpu = medians[contender.name]
        ratios = [wall / medians[b.name][0] for b in base.values()]
        print(
            f"{contender.name + ' ' + contender.version:<{width}}  {wall:>12.2f}  {cpu:>11.2f}  "
            f"{ratios[0]:>5.2f}x  {ratios[1]:>13.2f}x"
        )
    print("(ratios of wall time; peer/ours > 1: the peer costs the caller more)")
    print()
    print("delivery:")
    clean = True
    for contender in contenders:
        notes = []
        if contender.path is not None:
            got = received.get(contender.path, {"requests": 0, "events": 0})
            notes.append(
                f"server received {got['events']:,} of {contender.tracked:,} events in {got['requests']:,} requests"
            )
            clean &= got["events"] == contender.tracked
        if contender.name in ours_stats:
            notes.append(f"exporters {ours_stats[contender.name]}")
        if contender.logger and problems.counts.get(contender.logger):
            count, first = problems.counts[contender.logger], problems.first[contender.logger]
            notes.append(f"{count} warnings/errors logged, first: {first!r}")
            clean = False
        if contender.errors:
            notes.append(f"{len(contender.errors)} errors reported, first: {contender.errors[0]}")
            clean = False
        print(f"  {contender.name}: " + "; ".join(notes))
    print(
        "  every event delivered, none dropped"
        if clean
        else "  SOME EVENTS WERE LOST: those clients' figures flatter them"
    )
    print()
    peers = [c for c in contenders if c.name not in base]
    for clock, index in (("wall", 0), ("caller CPU", 1)):
        worst = max(medians[b][index] for b in base)
        best_peer = min(peers, key=lambda c: medians[c.name][index], default=None)
        if best_peer is None:
            print(f"target: ours the lowest ({clock}): no peer measured")
            continue
        met = worst < medians[best_peer.name][index]
        print(
            f"target: ours the lowest ({clock}): {'met' if met else 'not met'} "
            f"(ours {medians['ours'][index]:.2f}, ours + Snowplow {medians['ours + Snowplow'][index]:.2f}, "
            f"cheapest peer {best_peer.name} {medians[best_peer.name][index]:.2f} us/call)"
        )


if __name__ == "__main__":
    main()
