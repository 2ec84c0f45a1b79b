"""``otel-internal-events demo``: track a realistic stream and print the metric report."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .. import _api, _state
from .._runtime import Runtime
from ..config import Settings
from ..definitions import load_definitions
from ..service import SnowplowMicroServer
from ._paths import find_definition_roots
from ._report_view import print_report
from ._traffic import generate_stream


class SimulatedClock:
    """The demo's clock: the time of the event being tracked."""

    def __init__(self, now: dt.datetime) -> None:
        self.now_ns = int(now.timestamp() * 1e9)

    def __call__(self) -> int:
        return self.now_ns


def packaged_definitions() -> str | None:
    """The demo definitions shipped inside the wheel, if this is an installed wheel."""
    folder = Path(__file__).resolve().parents[1] / "demo_definitions"
    return str(folder) if folder.is_dir() else None


def demo_roots() -> tuple[str, ...]:
    try:
        return find_definition_roots(())
    except click.UsageError:
        packaged = packaged_definitions()
        if packaged is None:
            raise
        return (packaged,)


def run_demo(
    *,
    events: int,
    users: int,
    projects: int,
    weeks: int,
    seed: int,
    redis_url: str | None,
    key_prefix: str,
    today: dt.date,
    console: Console,
    progress: bool = True,
    snowplow_endpoint: str | None = None,
) -> tuple[dict[str, Any], Runtime, list[Any]]:
    """Track the demo stream and return (report, runtime, stream). The caller shuts down.

    With ``snowplow_endpoint`` the events also go to that Snowplow collector (user ids
    pseudonymised with a secret of this run).
    """
    roots = demo_roots()
    registry = load_definitions(*roots)
    end = today - dt.timedelta(days=today.weekday())  # Monday of this week: earlier weeks are complete
    start = end - dt.timedelta(weeks=weeks)
    stream = generate_stream(
        registry, events=events, users=users, projects=projects, start=start, weeks=weeks, seed=seed
    )
    clock = SimulatedClock(dt.datetime.combine(start, dt.time(), dt.UTC))
    settings = Settings(
        definitions=roots,
        redis_url=redis_url,
        key_prefix=key_prefix,
        strict=True,
        clock=clock,
        snowplow_endpoint=snowplow_endpoint,
        pseudonymization_secret=secrets.token_hex(16) if snowplow_endpoint else None,
    )
    runtime = _state.configure(settings, registry=registry)
    console.print(
        f"definitions: {', '.join(roots)} ({len(registry.events)} events, {len(registry.metrics)} metrics)\n"
        f"tracking {events:,} events from {users} users in {projects} projects, "
        f"{start} to {end - dt.timedelta(days=1)} ({weeks} weeks)"
    )
    started = time.perf_counter()
    with Progress(
        TextColumn("tracking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
    ) as bar:
        task = bar.add_task("track", total=len(stream))
        for index, item in enumerate(stream, 1):
            clock.now_ns = item.timestamp_ns
            _api.track_internal_event(
                item.event,
                user=item.user,
                project=item.project,
                namespace=item.namespace,
                additional_properties=item.properties,
            )
            if index % 1000 == 0:
                bar.update(task, completed=index)
        bar.update(task, completed=len(stream))
    tracked = time.perf_counter() - started
    flushed = runtime.flush()
    elapsed = time.perf_counter() - started
    stats = runtime.processors["redis"].stats if "redis" in runtime.processors else {}
    console.print(
        f"tracked in {tracked:.2f} s ({len(stream) / tracked:,.0f} events/s on the caller's thread); "
        f"flushed to Redis in {elapsed - tracked:.2f} s: {'ok' if flushed else 'NOT complete'}; "
        f"exported {stats.get('exported', 0):,}, dropped {stats.get('dropped', 0)}, failed {stats.get('failed', 0)}"
    )
    clock.now_ns = int(dt.datetime.combine(end, dt.time(12), dt.UTC).timestamp() * 1e9)
    return runtime.report(at=end), runtime, stream


@click.command()
@click.option("--events", default=20_000, show_default=True, help="Events to track.")
@click.option("--users", default=500, show_default=True)
@click.option("--projects", default=50, show_default=True)
@click.option("--weeks", default=6, show_default=True, help="Simulated weeks, ending last Sunday.")
@click.option("--seed", default=2026, show_default=True)
@click.option("--redis-url", default=None, help="Redis server; default: an embedded one, started for the demo.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--snowplow",
    is_flag=True,
    help="Also send the events to a local Snowplow micro collector (started for the demo) and count them.",
)
@click.option(
    "--web",
    is_flag=True,
    help="Instead: serve a page of tracked buttons (the browser client) and a live panel of metric values.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="With --web: the address to serve on.")
@click.option("--port", default=8000, show_default=True, help="With --web: the port to serve on.")
def demo(
    events: int,
    users: int,
    projects: int,
    weeks: int,
    seed: int,
    redis_url: str | None,
    fmt: str,
    snowplow: bool,
    web: bool,
    host: str,
    port: int,
) -> None:
    """Track a realistic stream for the demo product, then print the metric report."""
    console = Console(stderr=fmt == "json")
    url = redis_url or os.environ.get("OTEL_INTERNAL_EVENTS_REDIS_URL")
    # On a shared server, keep the demo's keys apart and remove them afterwards.
    prefix = f"demo-{os.getpid()}-{int(time.time())}:" if url else ""
    if web:
        serve_demo_page(url, prefix, host, port, console)
        return
    micro = SnowplowMicroServer(port=0).start() if snowplow else None
    try:
        report, runtime, _ = run_demo(
            events=events,
            users=users,
            projects=projects,
            weeks=weeks,
            seed=seed,
            redis_url=url,
            key_prefix=prefix,
            today=dt.datetime.now(dt.UTC).date(),
            console=console,
            snowplow_endpoint=micro.url if micro else None,
        )
        if micro is not None:
            counts = micro.collector.counts()
            console.print(
                f"snowplow: the local collector at {micro.url} received {counts['good']:,} good "
                f"and {counts['bad']:,} bad events"
            )
        try:
            print_report(report, runtime.registry, fmt, Console() if fmt == "json" else console)
        finally:
            if prefix:
                runtime.delete_keys()
            _state.shutdown()
    finally:
        if micro is not None:
            micro.stop()


def serve_demo_page(redis_url: str | None, prefix: str, host: str, port: int, console: Console) -> None:
    """Serve the browser demo until interrupted; its keys are deleted afterwards (a shared server)."""
    try:
        import uvicorn

        from ..service import Gateway
        from ._demo_web import demo_web_app
    except ImportError:
        raise click.ClickException(
            "the web demo needs the service extra: pip install 'otel-internal-events[service]'"
        ) from None
    roots = demo_roots()
    settings = Settings(
        definitions=roots, redis_url=redis_url, key_prefix=prefix, browser_secret=secrets.token_urlsafe(32)
    )
    gateway = Gateway(settings)
    try:
        console.print(f"browser demo on http://{host}:{port}/ (definitions: {', '.join(roots)}); Ctrl-C stops it")
        uvicorn.run(demo_web_app(gateway), host=host, port=port, log_level="warning")
    finally:
        if prefix:
            gateway.runtime.delete_keys()
        gateway.close()
