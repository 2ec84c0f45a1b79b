"""Snowplow exporter throughput, and what Snowplow costs the caller of track_internal_event.

Every figure is measured in this run next to its baseline, and the ratio is printed. The
collectors run in processes of their own, so their work does not share this process's GIL.

1. exporter throughput: OTel log records -> SnowplowExporter (which hands them to its child
   process, where payloads are built by snowplow-tracker and POSTed in batches) -> the micro
   collector (``otel-internal-events snowplow-micro``), in events/s, vs the bare snowplow-tracker
   (``Tracker`` + its synchronous ``Emitter``, batch 50, keep-alive session) sending the same
   structured event with the same two contexts to the same collector; every event is checked
   to have arrived good. The exporting thread's CPU per event is this process's share only
   (taking the records apart and pickling them);
2. caller-thread cost of ``track_internal_event`` (3 identifiers, 2 properties, Redis exporter on)
   with Snowplow on vs off. Both pipelines are kept, and each round tracks a block of calls
   through each (alternating which goes first); the ratio is the median of the rounds' ratios.
   Snowplow sends to a collector that accepts every request (as Snowplow's own collector does,
   leaving validation to the enrichment stage), so that the second CPU of a small machine is
   left to the export process. Two clocks: the caller thread's own CPU time
   (``time.thread_time``: the cost the call puts on the caller; target: on/off within 10%), and
   wall time (target: within 10% too), which in a tight loop also shows the GIL share the
   export threads take in the background (no idle time in the loop to absorb it);
3. exporter throughput as in 1, to a collector that only counts the events it receives (in its
   own process): target at least 25,000 events/s, every event counted;
4. sustained: ``track_internal_event`` at 15,000 events/s for 60 s with Snowplow on and the
   default settings (the Redis exporter too, the default queue), then flush: target zero drops,
   and the collector counts every event.

    python benchmarks/bench_snowplow.py [--events 20000] [--calls 12288] [--rounds 30]
                                        [--sustain-seconds 60] [--sustain-rate 15000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor

import otel_internal_events as oie
from otel_internal_events.definitions import load_definitions
from otel_internal_events.exporters import ExportLosses, SnowplowExporter
from otel_internal_events.iglu import GITLAB_SERVICE_PING_SCHEMA, GITLAB_STANDARD_SCHEMA
from otel_internal_events.sinks import SnowplowSinkSettings, load_snowplow_tracker, pseudonymize
from otel_internal_events.wire import TrackedEvent

ROOT = Path(__file__).resolve().parents[1]
EVENT = "create_merge_request"
PROPERTIES = {"label": "web", "property": "draft"}
SECRET = "bench-secret"


class Project:
    def __init__(self, pid: int) -> None:
        self.id = pid
        self.namespace = 1000 + pid % 10


#: A collector that takes each POST and answers 200, as Snowplow's own collector does (it
#: leaves validation to the enrichment stage downstream): the caller-cost rounds use it, so
#: that the machine's second CPU is left to the export process and not to validating events.
ACCEPTING_COLLECTOR = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
"""


#: A collector that counts the events of each POST (``GET /`` answers the count): the
#: throughput and sustained rounds use it, so that what is measured is the export, not a
#: collector's validation.
COUNTING_COLLECTOR = """
import json, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
lock = threading.Lock()
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        events = len(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["data"])
        with lock:
            count += events
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("listening on http://127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
"""


def counted(url: str) -> int:
    with urllib.request.urlopen(url + "/", timeout=30) as response:
        return int(response.read())


@contextmanager
def collector_process(*args: str) -> Iterator[str]:
    """``python -c *args``, a collector that prints ``listening on URL``; its URL. Stopped afterwards."""
    process = subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"the collector did not start: {line!r}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.communicate(timeout=10)


def micro_collector() -> Any:
    """The micro collector in a child process (``otel-internal-events snowplow-micro``)."""
    code = "from otel_internal_events.cli import main; main()"
    return collector_process(code, "snowplow-micro", "--port", "0", "--max-body-bytes", "10000000")


def micro(url: str, path: str) -> Any:
    with urllib.request.urlopen(url + path, timeout=30) as response:
        return json.loads(response.read())


def records(count: int) -> list[Any]:
    """``count`` SDK log records of tracked events, as the processor would hand them over."""
    runtime = oie.configure(oie.Settings(definitions=(str(ROOT / "definitions"),), exporters=("none",)))
    capture = InMemoryLogRecordExporter()
    runtime.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(capture))
    projects = [Project(p) for p in range(50)]
    for i in range(count):
        oie.track_internal_event(EVENT, user=i % 5000, project=projects[i % 50], additional_properties=PROPERTIES)
    batch = list(capture.get_finished_logs())
    oie.shutdown()
    return batch


def run_exporter(url: str, batch: list[Any], cpu: list[float], *, reset: bool = True) -> float:
    """Seconds to deliver ``batch`` through SnowplowExporter, in processor-sized exports.

    Appends to ``cpu`` the exporting thread's CPU time per event, in µs (this process's share:
    the build and the POSTs happen in the exporter's child process).
    """
    from opentelemetry.sdk.metrics import MeterProvider

    settings = SnowplowSinkSettings(url, batch_size=50, pseudonymization_secret=SECRET)
    exporter = SnowplowExporter(settings, ExportLosses(MeterProvider().get_meter("bench")), timeout_millis=60_000)
    exporter.export(batch[:1])  # start the export process outside the timed part
    if reset:
        micro(url, "/micro/reset")
    start, cpu_start = time.perf_counter(), time.thread_time()
    for offset in range(0, len(batch), 4096):
        if exporter.export(batch[offset : offset + 4096]) is not LogRecordExportResult.SUCCESS:
            raise RuntimeError(f"export failed: {exporter.stats}")
    elapsed = time.perf_counter() - start
    cpu.append((time.thread_time() - cpu_start) / len(batch) * 1e6)
    exporter.shutdown()
    return elapsed


def run_bare_tracker(url: str, count: int) -> float:
    """Seconds for the bare snowplow-tracker to send ``count`` such events (sync Emitter, batch 50)."""
    import requests

    tracker_module = load_snowplow_tracker()
    emitter = tracker_module.Emitter(url, batch_size=50, session=requests.Session())
    tracker = tracker_module.Tracker(namespace="gl", emitters=emitter, app_id="otel-internal-events")
    sdj, structured = tracker_module.SelfDescribingJson, tracker_module.StructuredEvent
    keyed = hmac.new(SECRET.encode(), digestmod=hashlib.sha256)
    # the standard context as the exporter sends it: GitLab's field set, the user id pseudonymised
    sink = SnowplowSinkSettings(url, pseudonymization_secret=SECRET).build()
    fields = list(sink.standard_context(TrackedEvent(EVENT, 0)))
    sink.close()
    start = time.perf_counter()
    for i in range(count):
        standard = dict.fromkeys(fields) | {"environment": "production", "source": "bench", "extra": {}}
        standard |= {"user_id": pseudonymize(i % 5000, keyed), "project_id": i % 50, "namespace_id": 1000 + i % 10}
        standard["context_generated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        ping = {"data_source": "redis_hll", "event_name": EVENT}
        tracker.track(
            structured(
                category="InternalEventTracking",
                action=EVENT,
                label="web",
                property_="draft",
                context=[sdj(GITLAB_STANDARD_SCHEMA, standard), sdj(GITLAB_SERVICE_PING_SCHEMA, ping)],
                true_timestamp=time.time() * 1000,
            )
        )
    tracker.flush()
    return time.perf_counter() - start


def bench_throughput(url: str, events: int, runs: int = 3) -> tuple[float, float, float]:
    """Median events/s of ours and of the bare tracker (alternating runs, every event checked good),
    and the median CPU µs per event of the exporting thread."""
    batch = records(events)
    ours: list[float] = []
    bare: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        for name, run in (
            ("ours", lambda: run_exporter(url, batch, cpu)),
            ("bare", lambda: run_bare_tracker(url, events)),
        ):
            micro(url, "/micro/reset")
            elapsed = run()
            counts = micro(url, "/micro/all")  # with "dropped" too once more arrived than it keeps
            if {k: counts[k] for k in ("total", "good", "bad")} != {"total": events, "good": events, "bad": 0}:
                raise RuntimeError(f"{name}: the collector has {counts}, expected {events} good events")
            (ours if name == "ours" else bare).append(events / elapsed)
    return statistics.median(ours), statistics.median(bare), statistics.median(cpu)


def bench_counting_throughput(url: str, events: int, runs: int = 3) -> float:
    """Median events/s through SnowplowExporter to a collector that only counts (every event
    must arrive: the run's, and the one that starts the export process)."""
    batch = records(events)
    rates = []
    for _ in range(runs):
        before = counted(url)
        rates.append(events / run_exporter(url, batch, [], reset=False))
        arrived = counted(url) - before
        if arrived != events + 1:
            raise RuntimeError(f"the collector counted {arrived} events, expected {events} and the first one")
    return statistics.median(rates)


def bench_sustained(url: str, redis_url: str | None, rate: int, seconds: float) -> dict[str, Any]:
    """Track ``rate`` events/s for ``seconds`` with Snowplow on and every other setting at its
    default (the Redis exporter, the default queue), then flush: what each exporter's processor
    dropped and failed, and what the collector counted."""
    runtime = oie.configure(
        oie.Settings(
            definitions=(str(ROOT / "definitions"),),
            redis_url=redis_url,
            key_prefix="bench-sp-sustained:",
            snowplow_endpoint=url,
            pseudonymization_secret=SECRET,
        )
    )
    projects = [Project(p) for p in range(50)]
    track = oie.track_internal_event
    before = counted(url)
    per_tick = rate // 100  # in ticks of 10 ms
    start = time.perf_counter()
    tracked = 0
    behind = 0.0
    while (now := time.perf_counter()) - start < seconds:
        for _ in range(per_tick):
            track(EVENT, user=tracked % 5000, project=projects[tracked % 50], additional_properties=PROPERTIES)
            tracked += 1
        due = start + tracked / rate
        if due > now:
            time.sleep(max(0.0, due - time.perf_counter()))
        else:
            behind = max(behind, now - due)
    produced_s = time.perf_counter() - start
    flushed = runtime.flush(120_000)
    losses = {name: processor.stats for name, processor in runtime.processors.items()}
    if runtime.dispatcher is not None:
        losses["dispatch"] = runtime.dispatcher.stats
    runtime.delete_keys()
    oie.shutdown()
    return {
        "tracked": tracked,
        "rate": tracked / produced_s,
        "flushed": flushed,
        "processors": losses,
        "counted": counted(url) - before,
        "behind_s": behind,
    }


def timed(fn: Callable[[int], None], calls: int) -> tuple[float, float]:
    """(wall, caller-thread CPU) µs per call of ``fn(i)`` over ``calls`` calls."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - wall) / calls * 1e6, (time.thread_time() - cpu) / calls * 1e6


def pin_helpers_apart() -> bool:
    """On a machine with 2+ CPUs, run this process on CPU 0 and its child processes (Redis, the
    micro collector, the Snowplow export process) on the other CPUs, so that what is measured
    on the caller's thread is its own work and not the time slices those servers take.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return False
    os.sched_setaffinity(0, {cpus[0]})
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # the parent pid
            with suppress(OSError):  # it may have exited meanwhile
                os.sched_setaffinity(int(entry.name), set(cpus[1:]))
    return True


def bench_caller(url: str, redis_url: str | None, calls: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """µs per call with Snowplow on and off, both in each round (in alternating order), by clock.

    Both pipelines are built once and kept; a round tracks ``calls`` events through each in
    turn (switching which one is current), flushing after each block outside the timed part.
    So a round's two figures are taken within a second of each other, and the ratio is not
    moved by the drifts in the speed of a shared machine that move figures taken further apart.
    """
    registry = load_definitions(str(ROOT / "definitions"))
    base = oie.Settings(definitions=(str(ROOT / "definitions"),), redis_url=redis_url, key_prefix="bench-sp:")
    runtimes = {
        "on": oie.Runtime(base.replace(snowplow_endpoint=url, pseudonymization_secret=SECRET), registry),
        "off": oie.Runtime(base, registry),
    }
    projects = [Project(p) for p in range(50)]
    track = oie.track_internal_event

    def call(i: int) -> None:
        track(EVENT, user=i % 500, project=projects[i % 50], additional_properties=PROPERTIES)

    results: dict[str, dict[str, list[float]]] = {m: {"wall": [], "cpu": []} for m in runtimes}
    for round_ in range(rounds + 1):
        for mode in ("on", "off") if round_ % 2 else ("off", "on"):
            runtime = runtimes[mode]
            oie.activate(runtime)
            gc.collect()
            wall, cpu = timed(call, calls)
            runtime.flush(120_000)
            if round_:  # the first round is a warm-up (it also starts the Snowplow export process)
                results[mode]["wall"].append(wall)
                results[mode]["cpu"].append(cpu)
            else:
                pin_helpers_apart()
    snowplow = runtimes["on"].snowplow_exporter
    assert snowplow is not None
    if snowplow.stats["delivered"] != (rounds + 1) * calls:
        raise RuntimeError(f"Snowplow delivered {snowplow.stats}, expected {(rounds + 1) * calls} events")
    runtimes["off"].delete_keys()
    oie.activate(None)
    for runtime in runtimes.values():
        runtime.shutdown()
    return results


def summary(on: list[float], off: list[float]) -> str:
    """Medians; the median, lowest and highest of the rounds' on/off ratios; the ratio of the totals."""
    ratios = sorted(a / b for a, b in zip(on, off, strict=True))
    return (
        f"on {statistics.median(on):.1f} us/call, off {statistics.median(off):.1f} us/call; "
        f"ratio {statistics.median(ratios):.3f} (rounds {ratios[0]:.2f} to {ratios[-1]:.2f}; "
        f"of the totals {sum(on) / sum(off):.3f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per throughput run")
    parser.add_argument("--calls", type=int, default=12_288, help="calls per mode and round (3 export batches)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--redis-url", default=None, help="default: an embedded server")
    parser.add_argument("--sustain-seconds", type=float, default=60.0, help="length of the sustained run (step 4)")
    parser.add_argument("--sustain-rate", type=int, default=15_000, help="events/s of the sustained run")
    args, _ = parser.parse_known_args()
    with micro_collector() as url:
        ours, bare, export_cpu = bench_throughput(url, args.events)
    print(f"1. exporter throughput to the micro collector (own process), {args.events:,} events/run:")
    print(f"   SnowplowExporter {ours:,.0f} events/s; bare snowplow-tracker sync Emitter {bare:,.0f} events/s")
    print(f"   ratio {ours / bare:.2f}x of the bare tracker (every event arrived and validated good)")
    print(f"   export thread CPU in this process: {export_cpu:.1f} us/event (the build and POSTs are in the child)")
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    with collector_process(ACCEPTING_COLLECTOR) as url:
        caller = bench_caller(url, args.redis_url, args.calls, args.rounds)
    if allowed is not None:  # step 2 pinned this process to one CPU: its later children would inherit it
        os.sched_setaffinity(0, allowed)
    on, off = caller["on"], caller["off"]
    print(f"2. caller thread, track_internal_event, {args.calls:,} calls x {args.rounds} rounds, Snowplow on/off")
    print("   (Snowplow to a collector that accepts every request, in its own process):")
    print(f"   caller CPU: {summary(on['cpu'], off['cpu'])}; target <= 1.10")
    print(f"   wall time:  {summary(on['wall'], off['wall'])}; target <= 1.10")
    print("   (wall time includes the GIL share of the export threads, in a tight loop with no idle time)")
    with collector_process(COUNTING_COLLECTOR) as url:
        rate = bench_counting_throughput(url, 4 * args.events)
        print(f"3. exporter throughput to a collector that only counts (own process), {4 * args.events:,} events/run:")
        print(f"   SnowplowExporter {rate:,.0f} events/s, every event counted; target >= 25,000 events/s")
        run = bench_sustained(url, args.redis_url, args.sustain_rate, args.sustain_seconds)
    dropped = sum(stats["dropped"] for stats in run["processors"].values())
    failed = sum(stats["failed"] for stats in run["processors"].values())
    print(
        f"4. sustained: {run['tracked']:,} events at {run['rate']:,.0f}/s for {args.sustain_seconds:.0f} s, "
        f"Snowplow on, default queue and exporters; flushed={run['flushed']}"
    )
    print(
        f"   dropped {dropped}, failed {failed}; the collector counted {run['counted']:,} "
        f"({'all' if run['counted'] == run['tracked'] else 'MISSING SOME'}); target: zero drops"
    )
    print(f"   per processor: {run['processors']}; the producer was at most {run['behind_s'] * 1000:.0f} ms behind")


if __name__ == "__main__":
    main()
