"""Caller-thread cost of ``@tracks_internal_event`` on top of ``track_internal_event``.

Measured in this run, in alternating rounds (median of the rounds): a decorated function whose
user and project come from attribute paths and whose properties are partly constant, partly from
an argument, vs an undecorated function that calls ``track_internal_event`` itself with the same
arguments, in chunks that alternate which goes first. Target: the decorator adds under 2 µs per call.

    python benchmarks/bench_decorator.py [--calls 20000] [--rounds 9] [--exporters none|redis] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from pathlib import Path
from typing import Any

import otel_internal_events as oie

ROOT = Path(__file__).resolve().parents[1]
EVENT = "create_merge_request"
PREFIX = "bench-decorator:"
CHUNK = 250


class Project:
    def __init__(self, pid: int) -> None:
        self.id = pid
        self.namespace = 1000 + pid % 10


class Request:
    def __init__(self, user: int) -> None:
        self.user = user


def seconds(fn: Any, arguments: list[tuple[Request, Project, str]]) -> float:
    start = time.perf_counter()
    for request, project, state in arguments:
        fn(request, project, state)
    return time.perf_counter() - start


def one_round(first: Any, second: Any, arguments: list[tuple[Request, Project, str]]) -> tuple[float, float]:
    """Mean µs per call of each function over ``arguments``, run in alternating chunks.

    The export thread competes with the caller for the GIL, and how much varies within a round;
    chunks of a few hundred calls, in turns that alternate which function goes first, give
    both the same share of it.
    """
    totals = [0.0, 0.0]
    chunks = [arguments[offset : offset + CHUNK] for offset in range(0, len(arguments), CHUNK)]
    for number, chunk in enumerate(chunks):
        order = (0, 1) if number % 2 else (1, 0)
        for which in order:
            totals[which] += seconds((first, second)[which], chunk)
    return totals[0] / len(arguments) * 1e6, totals[1] / len(arguments) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--redis-url", default=None, help="default: an embedded server")
    parser.add_argument(
        "--exporters",
        default="none",
        help="none (default): the call validates and records, and no export thread competes for the GIL, "
        "whose share swings from round to round; redis: with the Redis exporter",
    )
    args = parser.parse_args()
    runtime = oie.configure(
        oie.Settings(
            definitions=(str(ROOT / "definitions"),),
            redis_url=args.redis_url,
            key_prefix=PREFIX,
            exporters=tuple(args.exporters.split(",")),
        )
    )
    track = oie.track_internal_event

    @oie.tracks_internal_event(
        EVENT, user="request.user", project="project", additional_properties={"label": "web", "property": "state"}
    )
    def decorated(request: Request, project: Project, state: str) -> str:
        return state

    def by_hand(request: Request, project: Project, state: str) -> str:
        track(EVENT, user=request.user, project=project, additional_properties={"label": "web", "property": state})
        return state

    projects = [Project(p) for p in range(50)]
    arguments = [(Request(i % 500), projects[i % 50], "draft" if i % 2 else "ready") for i in range(args.calls)]
    one_round(decorated, by_hand, arguments[: args.calls // 10])  # warm-up
    runtime.flush()
    gc.collect()
    decorated_runs, by_hand_runs = [], []
    for _ in range(args.rounds):
        ours_us, baseline_us = one_round(decorated, by_hand, arguments)
        decorated_runs.append(ours_us)
        by_hand_runs.append(baseline_us)
        runtime.flush()
    ours, baseline = statistics.median(decorated_runs), statistics.median(by_hand_runs)
    print(f"decorated function:                       {ours:.2f} us/call")
    print(f"function calling track_internal_event:    {baseline:.2f} us/call")
    print(f"decorator adds {ours - baseline:.2f} us/call, ratio {ours / baseline:.2f}x (target: adds < 2 us)")
    if runtime.redis_sink is not None:
        runtime.delete_keys()
    oie.shutdown()


if __name__ == "__main__":
    main()
