"""``otel-internal-events snowplow-micro``: run the local validating Snowplow collector."""

from __future__ import annotations

import signal
from types import FrameType

import click

from ..errors import ConfigurationError
from ..service import IgluRegistry, MicroCollector, SnowplowMicroServer


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command("snowplow-micro")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=9090, show_default=True, type=click.IntRange(0, 65535), help="0: a free port.")
@click.option(
    "--iglu",
    "iglu_roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="A static Iglu repository folder (vendor/name/format/version) with schemas of your own; repeatable.",
)
@click.option("--max-body-bytes", default=1_000_000, show_default=True, type=click.IntRange(1), help="Else 413.")
@click.option(
    "--max-events",
    default=10_000,
    show_default=True,
    type=click.IntRange(0),
    help="Good events, and bad ones, kept to read back; the oldest are dropped and counted in /micro/all.",
)
def snowplow_micro(host: str, port: int, iglu_roots: tuple[str, ...], max_body_bytes: int, max_events: int) -> None:
    """Run a local Snowplow collector that validates events and keeps them, like Snowplow Micro.

    Point the tracker at it with OTEL_INTERNAL_EVENTS_SNOWPLOW_ENDPOINT=http://HOST:PORT, then
    read /micro/all, /micro/good, /micro/bad; /micro/reset forgets everything.
    """
    try:
        registry = IgluRegistry(iglu_roots)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    collector = MicroCollector(registry, max_events=max_events, max_body_bytes=max_body_bytes)
    server = SnowplowMicroServer(host, port, collector)
    signal.signal(signal.SIGTERM, _stop)
    click.echo(f"snowplow micro collector listening on {server.url}")
    click.echo(f"  events: {server.url}/micro/all, /micro/good, /micro/bad, /micro/reset")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        counts = collector.counts()
        click.echo(f"stopped: {counts['total']} events, {counts['good']} good, {counts['bad']} bad")
