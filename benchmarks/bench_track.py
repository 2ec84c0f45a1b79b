"""Caller-thread cost, drain rate and end-to-end throughput of track_internal_event.

Every figure is measured in this run next to its baseline, and the ratio is printed:

1. caller-thread cost of ``track_internal_event`` (3 identifiers, 2 properties, Redis exporter
   on) vs a bare OTel ``Logger.emit`` with the same attributes and the SDK's batch processor;
   target: median at most 1.0x; then ours with the OTLP exporter, where the SDK's own logger
   builds the records (they leave the process as OpenTelemetry log records), vs the bare emit
   with the SDK's OTLP exporter, both to a local endpoint that accepts everything: its ratio;
2. the same call vs the GitLab way: synchronous PFADD/INCR round trips per event on the same
   Redis; target: at least 10x faster;
3. exporter drain rate: log records to Redis writes, no producer; target >= 100,000 events/s;
4. end to end, in a process of its own: a producer tracking as fast as it can for --seconds,
   then flush: events/s, the process's peak RSS (target: under 80 MiB), drops (target: none at
   the default settings) and exact totals in Redis.

    python benchmarks/bench_track.py [--calls 20000] [--seconds 10] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    InMemoryLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)

import otel_internal_events as oie
from bench_micro import memory_kib
from bench_snowplow import ACCEPTING_COLLECTOR, collector_process
from otel_internal_events.exporters import RedisCounterExporter
from otel_internal_events.metrics import RedisKeys, iso_week
from otel_internal_events.sinks import RedisCounterSink

ROOT = Path(__file__).resolve().parents[1]
EVENT = "create_merge_request"
PROPERTIES = {"label": "web", "property": "draft"}


class Project:
    def __init__(self, pid: int) -> None:
        self.id = pid
        self.namespace = 1000 + pid % 10


class NoopExporter(LogRecordExporter):
    def export(self, batch: Any) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


def per_call_us(fn: Any, calls: int, runs: int = 5) -> float:
    """Median over ``runs`` of the mean µs per call of ``fn(i)``."""
    fn_range = range(calls)
    for i in range(calls // 10):
        fn(i)
    results = []
    for _ in range(runs):
        start = time.perf_counter()
        for i in fn_range:
            fn(i)
        results.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(results)


def configure(url: str | None, prefix: str, **overrides: Any) -> oie.Runtime:
    return oie.configure(
        oie.Settings(definitions=(str(ROOT / "definitions"),), redis_url=url, key_prefix=prefix, **overrides)
    )


def bench_caller(
    url: str, calls: int, rounds: int = 7, bare_exporter: LogRecordExporter | None = None, **overrides: Any
) -> tuple[float, float]:
    """Median µs per call of ours and of the bare emit (its batch processor exporting to
    ``bare_exporter``, default nowhere), measured in alternating rounds."""
    runtime = configure(url, "bench1:", **overrides)
    track = oie.track_internal_event
    projects = [Project(p) for p in range(50)]

    def ours(i: int) -> None:
        track(EVENT, user=i % 500, project=projects[i % 50], additional_properties=PROPERTIES)

    provider = LoggerProvider(shutdown_on_exit=False)
    # The queue of ours: the SDK's default (2,048) drops records when its export falls behind,
    # and a dropped record costs the caller less than an exported one.
    processor = BatchLogRecordProcessor(bare_exporter or NoopExporter(), max_queue_size=131_072)
    provider.add_log_record_processor(processor)
    logger = provider.get_logger("bench")

    def bare(i: int) -> None:
        logger.emit(
            event_name=EVENT,
            attributes={
                "internal_events.event": EVENT,
                "internal_events.user.id": i % 500,
                "internal_events.project.id": i % 50,
                "internal_events.namespace.id": 1000 + i % 10,
                "internal_events.property.label": "web",
                "internal_events.property.property": "draft",
            },
        )

    ours_runs, bare_runs = [], []
    for _ in range(rounds):
        ours_runs.append(per_call_us(ours, calls, runs=1))
        runtime.flush()
        bare_runs.append(per_call_us(bare, calls, runs=1))
        provider.force_flush()
    oie.shutdown()
    provider.shutdown()
    return statistics.median(ours_runs), statistics.median(bare_runs)


def bench_gitlab_way(url: str, calls: int) -> float:
    """Per event, what GitLab does synchronously: one round trip per counter rule."""
    runtime = configure(url, "bench2:", exporters=("none",))
    client = runtime.redis
    keys = RedisKeys("bench2:")
    rules = runtime.registry.rules_for(EVENT)
    week = iso_week(dt.date.today())
    ttl = 6 * 7 * 86400

    def gitlab(i: int) -> None:
        ids = {"user": i % 500, "project": i % 50, "namespace": 1000 + i % 10}
        for rule in rules:
            key = keys.key(rule, week)
            if rule.unique:
                pipe = client.pipeline(transaction=True)  # Gitlab::Redis::HLL.add: MULTI PFADD EXPIRE
                pipe.pfadd(key, ids[rule.unique])
                pipe.expire(key, ttl)
                pipe.execute()
            else:
                client.incr(key)
                if rule.time_framed and client.ttl(key) < 0:
                    client.expire(key, ttl)

    us = per_call_us(gitlab, max(calls // 10, 500), runs=3)
    oie.shutdown()
    return us


def bench_drain(url: str, records: int) -> float:
    """Events/s from SDK log records to Redis writes, batch by batch."""
    runtime = configure(url, "bench3:", exporters=("none",))
    capture = InMemoryLogRecordExporter()
    runtime.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(capture))
    projects = [Project(p) for p in range(50)]
    for i in range(records):
        oie.track_internal_event(EVENT, user=i, project=projects[i % 50], additional_properties=PROPERTIES)
    batch = list(capture.get_finished_logs())
    exporter = RedisCounterExporter(RedisCounterSink(runtime.redis, runtime.registry, "bench3:"), runtime.losses)
    size = 4096
    start = time.perf_counter()
    for offset in range(0, len(batch), size):
        exporter.export(batch[offset : offset + size])
    elapsed = time.perf_counter() - start
    oie.shutdown()
    return len(batch) / elapsed


def bench_end_to_end(url: str, seconds: float) -> dict[str, Any]:
    runtime = configure(url, "bench4:")
    client = runtime.redis
    track = oie.track_internal_event
    projects = [Project(p) for p in range(50)]
    count = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    while True:
        for _ in range(1000):
            track(EVENT, user=count % 5000, project=projects[count % 50], additional_properties=PROPERTIES)
            count += 1
        if time.perf_counter() >= deadline:
            break
    produced = time.perf_counter() - start
    flushed = runtime.flush(60_000)
    total = time.perf_counter() - start
    stats = runtime.processors["redis"].stats
    in_redis = int(client.get(f"bench4:{{event_counters}}_{EVENT}") or 0)
    oie.shutdown()
    return {
        "tracked": count,
        "tracked_per_s": count / produced,
        "delivered_per_s": count / total,
        "flushed": flushed,
        "stats": stats,
        "in_redis": in_redis,
        "peak_rss_mib": peak_rss_mib(),
    }


def peak_rss_mib() -> float:
    """This process's peak RSS: Linux's VmHWM, which starts again at exec (``ru_maxrss`` keeps
    the parent's peak across fork and exec, so a child would report the parent's)."""
    try:
        return memory_kib(os.getpid())["VmHWM"] / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cleanup(client: Any) -> None:
    for prefix in ("bench1:", "bench2:", "bench3:", "bench4:"):
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--redis-url", default=None, help="default: an embedded server")
    parser.add_argument("--burst-only", action="store_true", help="run step 4 alone and print its figures as JSON")
    args = parser.parse_args()
    if args.burst_only:
        print(json.dumps(bench_end_to_end(args.redis_url, args.seconds)))
        return
    url = args.redis_url or configure(None, "bench0:").redis_url  # no URL: the embedded server
    gc.collect()
    ours_us, bare_us = bench_caller(url, args.calls)
    print(f"1. caller thread: track_internal_event {ours_us:.1f} us/call, bare Logger.emit {bare_us:.1f} us/call")
    print(f"   ratio {ours_us / bare_us:.2f}x (target <= 1.0x)")
    with collector_process(ACCEPTING_COLLECTOR) as accepting:  # an OTLP endpoint that accepts everything
        endpoint = f"{accepting}/v1/logs"
        otlp_us, otlp_bare_us = bench_caller(
            url, args.calls, bare_exporter=OTLPLogExporter(endpoint), exporters=("otlp",), otlp_endpoint=endpoint
        )
    print(f"   OTLP path (the OTLP exporter; the SDK's logger builds the records): {otlp_us:.1f} us/call,")
    print(f"   bare Logger.emit, SDK's OTLP exporter {otlp_bare_us:.1f} us/call, ratio {otlp_us / otlp_bare_us:.2f}x")
    gitlab_us = bench_gitlab_way(url, args.calls)
    print(f"2. GitLab way (synchronous round trips): {gitlab_us:.1f} us/event; ours {ours_us:.1f} us/event")
    print(f"   ours is {gitlab_us / ours_us:.1f}x faster on the caller's thread (target >= 10x)")
    rate = bench_drain(url, 100_000)
    print(f"3. exporter drain: {rate:,.0f} events/s into Redis (target >= 100,000)")
    # In a process of its own, so that its peak RSS is the burst's, not the earlier steps'.
    burst = [sys.executable, __file__, "--burst-only", "--redis-url", url, "--seconds", str(args.seconds)]
    e2e = json.loads(subprocess.run(burst, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    print(
        f"4. end to end, {args.seconds:.0f} s producer: tracked {e2e['tracked']:,} "
        f"({e2e['tracked_per_s']:,.0f}/s on the caller), delivered {e2e['delivered_per_s']:,.0f}/s incl. flush; "
        f"flushed={e2e['flushed']}"
    )
    print(
        f"   exported {e2e['stats']['exported']:,}, dropped {e2e['stats']['dropped']:,}, "
        f"failed {e2e['stats']['failed']:,}; all-time counter in Redis {e2e['in_redis']:,} "
        f"({'exact' if e2e['in_redis'] == e2e['tracked'] else 'MISMATCH'}); peak RSS {e2e['peak_rss_mib']:.0f} MiB "
        f"(the whole process; target < 80 MiB)"
    )
    import redis

    cleanup(redis.Redis.from_url(url))


if __name__ == "__main__":
    main()
