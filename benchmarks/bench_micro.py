"""The micro collector's validation rate, and its memory with the bound on.

Every figure is measured in this run next to its baseline, and the ratio is printed. The
request bodies are what this project's Snowplow exporter sends: payloads built by the real
snowplow-tracker (``SnowplowSink``: a structured event with the ``gitlab_standard`` and
``gitlab_service_ping`` contexts, base64 ``cx``), 200 events a request (the exporter's batch),
with the sent time attached and JSON-encoded as its emitter does.

1. ``MicroCollector.handle`` in this process, in events/s (every event checked to be good), vs
   two baselines on the same bodies: the bare cost of reading them (json-decoding each body,
   base64- and json-decoding each event's contexts), and that plus the floor of validating them
   (jsonschema-rs ``is_valid`` of the contexts envelope and of each context). Target: >= 20,000
   events/s;
2. the same bodies over HTTP to ``otel-internal-events snowplow-micro`` in a process of its
   own, POSTed one after the other over one keep-alive connection (as the exporter sends), vs
   the same stdlib ``ThreadingHTTPServer`` that only reads each body and answers 200 (the
   ceiling of the transport). Target: >= 20,000 events/s;
3. memory: the collector process's peak RSS (``VmHWM``) after --flood events sent to it with
   ``--max-events`` kept of each kind, next to its RSS when started; and ``/micro/all``.

    python benchmarks/bench_micro.py [--events 20000] [--rounds 5] [--max-events 10000] [--flood 100000]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jsonschema_rs

from otel_internal_events.iglu import PAYLOAD_DATA_SCHEMA
from otel_internal_events.service import IgluRegistry, MicroCollector
from otel_internal_events.sinks import SnowplowSinkSettings, load_snowplow_tracker
from otel_internal_events.wire import TrackedEvent

TP2_PATH = "/com.snowplowanalytics.snowplow/tp2"
BATCH = 200  # events a request: the exporter's default batch
EVENT = "create_merge_request"
SECRET = "bench-secret"
TARGET = 20_000

#: The same stdlib server as the collector's, that reads each body and answers 200: the ceiling
#: of the transport, with nothing validated.
ACCEPTING_COLLECTOR = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
"""


def bodies(events: int) -> list[bytes]:
    """``events`` exporter payloads (varied users, projects, properties) in POST bodies of ``BATCH``."""
    sink = SnowplowSinkSettings("http://127.0.0.1:1", pseudonymization_secret=SECRET).build()
    attach_sent_timestamp = load_snowplow_tracker().Emitter.attach_sent_timestamp
    start_ns = time.time_ns()
    payloads = [
        sink.payload(
            TrackedEvent(
                EVENT,
                start_ns + i * 1_000_000,
                user_id=i % 5000,
                project_id=i % 50,
                namespace_id=1000 + i % 10,
                properties={"label": "web", "property": "draft", "value": i % 7, "merge_strategy": "squash"},
            )
        )
        for i in range(events)
    ]
    sink.close()
    result = []
    for offset in range(0, events, BATCH):
        batch = payloads[offset : offset + BATCH]
        attach_sent_timestamp(batch)
        result.append(json.dumps({"schema": PAYLOAD_DATA_SCHEMA, "data": batch}).encode("utf-8"))
    return result


def rate(run: Callable[[], None], events: int, rounds: int) -> float:
    """Median events/s of ``rounds`` runs of ``run`` (after one warm-up run)."""
    run()
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        rates.append(events / (time.perf_counter() - start))
    return statistics.median(rates)


def bare_read(posted: list[bytes]) -> None:
    """What reading the bodies costs at the least: the JSON, then each event's base64 contexts."""
    for body in posted:
        for event in json.loads(body)["data"]:
            value = event["cx"]
            json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))


def bare_validate(registry: IgluRegistry) -> Callable[[list[bytes]], None]:
    """Reading the bodies plus jsonschema-rs ``is_valid`` of each contexts envelope and context."""
    validators: dict[str, Any] = {}

    def validator(uri: str) -> Any:
        if uri not in validators:
            schema = registry.schema(uri)
            assert schema is not None, uri
            validators[uri] = jsonschema_rs.Draft4Validator(schema)
        return validators[uri]

    def run(posted: list[bytes]) -> None:
        for body in posted:
            for event in json.loads(body)["data"]:
                value = event["cx"]
                envelope = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
                if not validator(envelope["schema"]).is_valid(envelope["data"]):
                    raise RuntimeError("invalid contexts")
                for context in envelope["data"]:
                    if not validator(context["schema"]).is_valid(context["data"]):
                        raise RuntimeError(f"invalid context {context['schema']}")

    return run


def bench_handle(posted: list[bytes], events: int, rounds: int, max_events: int) -> dict[str, float]:
    """events/s through ``handle`` (a fresh collector each run) and of the two baselines."""
    registry = IgluRegistry()

    def ours() -> None:
        collector = MicroCollector(registry, max_events=max_events, max_body_bytes=10_000_000)
        for body in posted:
            if collector.handle("POST", TP2_PATH, "", body).status != 200:
                raise RuntimeError("a request was refused")
        counts = collector.counts()
        if (counts["good"], counts["bad"]) != (events, 0):
            raise RuntimeError(f"the collector has {counts}, expected {events} good events")

    return {
        "ours": rate(ours, events, rounds),
        "read": rate(lambda: bare_read(posted), events, rounds),
        "validate": rate(lambda: bare_validate(registry)(posted), events, rounds),
    }


@contextmanager
def process(*args: str) -> Iterator[tuple[str, int]]:
    """``python *args``, a server that prints ``listening on URL``; (its URL, its pid). Stopped afterwards."""
    child = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"the collector did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip(), child.pid
    finally:
        child.terminate()
        child.communicate(timeout=30)


def micro_process(max_events: int) -> Any:
    """``otel-internal-events snowplow-micro`` in a process of its own, keeping ``max_events`` of each kind."""
    code = "from otel_internal_events.cli import main; main()"
    options = ["--port", "0", "--max-body-bytes", "10000000", "--max-events", str(max_events)]
    return process("-c", code, "snowplow-micro", *options)


def post_all(url: str, posted: list[bytes]) -> None:
    """POST each body in turn over one keep-alive connection; each must be answered 200."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(url).netloc, timeout=60)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    for body in posted:
        connection.request("POST", TP2_PATH, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"answered {response.status}")
    connection.close()


def get(url: str, path: str) -> Any:
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(url).netloc, timeout=60)
    connection.request("GET", path)
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def bench_http(posted: list[bytes], events: int, rounds: int, max_events: int) -> dict[str, float]:
    """events/s over HTTP to the micro collector (every event checked good) and to the accepting server."""
    with micro_process(max_events) as (url, _):

        def ours() -> None:
            get(url, "/micro/reset")
            post_all(url, posted)
            counts = get(url, "/micro/all")
            if (counts["good"], counts["bad"]) != (events, 0):
                raise RuntimeError(f"the collector has {counts}, expected {events} good events")

        mine = rate(ours, events, rounds)
    with process("-c", ACCEPTING_COLLECTOR) as (url, _):
        ceiling = rate(lambda: post_all(url, posted), events, rounds)
    return {"ours": mine, "accepting": ceiling}


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of process ``pid``, in KiB."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def bench_memory(posted: list[bytes], flood: int, max_events: int) -> tuple[dict[str, int], dict[str, int], Any]:
    """The collector process's memory when started and after ``flood`` events; its ``/micro/all``."""
    with micro_process(max_events) as (url, pid):
        get(url, "/micro/all")
        started = memory_kib(pid)
        sent = 0
        while sent < flood:
            part = posted[: max(1, (flood - sent + BATCH - 1) // BATCH)]
            post_all(url, part)
            sent += sum(len(json.loads(body)["data"]) for body in part)
        return started, memory_kib(pid), get(url, "/micro/all")


def verdict(value: float) -> str:
    return "met" if value >= TARGET else "not met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per run (in requests of 200)")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs per figure (the median is printed)")
    parser.add_argument("--max-events", type=int, default=10_000, help="events the collector keeps of each kind")
    parser.add_argument("--flood", type=int, default=100_000, help="events sent for the memory figure")
    args, _ = parser.parse_known_args()
    posted = bodies(args.events)
    events = sum(len(json.loads(body)["data"]) for body in posted)
    size = statistics.median(len(body) for body in posted)
    print(f"{events:,} events in {len(posted)} POST bodies of {BATCH} (median {size / 1024:,.0f} KiB)")

    handled = bench_handle(posted, events, args.rounds, args.max_events)
    ours, read, validate = handled["ours"], handled["read"], handled["validate"]
    print("1. MicroCollector.handle, in this process (every event checked good):")
    print(f"   ours {ours:,.0f} events/s ({1e6 / ours:.1f} us/event)")
    print(f"   baseline, reading only (json + base64 + json): {read:,.0f} events/s ({1e6 / read:.1f} us/event)")
    print(f"   baseline, reading + jsonschema-rs is_valid: {validate:,.0f} events/s ({1e6 / validate:.1f} us/event)")
    print(f"   ratio {ours / read:.2f}x of reading only, {ours / validate:.2f}x of reading + is_valid")
    print(f"   target >= {TARGET:,} events/s: {verdict(ours)}")

    over_http = bench_http(posted, events, args.rounds, args.max_events)
    ours, accepting = over_http["ours"], over_http["accepting"]
    print("2. over HTTP, one keep-alive connection, the collector in its own process:")
    print(f"   snowplow-micro {ours:,.0f} events/s; a stdlib server that only reads the body {accepting:,.0f} events/s")
    print(f"   ratio {ours / accepting:.2f}x of the transport's ceiling")
    print(f"   target >= {TARGET:,} events/s: {verdict(ours)}")

    started, flooded, counts = bench_memory(posted, args.flood, args.max_events)
    print(f"3. memory of snowplow-micro --max-events {args.max_events:,}, after {args.flood:,} events:")
    print(f"   RSS when started {started['VmRSS'] / 1024:,.1f} MiB", end="; ")
    print(f"after: peak (VmHWM) {flooded['VmHWM'] / 1024:,.1f} MiB, now {flooded['VmRSS'] / 1024:,.1f} MiB")
    print(f"   /micro/all {json.dumps(counts)}")


if __name__ == "__main__":
    main()
