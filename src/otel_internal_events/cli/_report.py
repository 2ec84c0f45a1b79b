"""``otel-internal-events report``: metric values from the configured Redis."""

from __future__ import annotations

import datetime as dt

import click
from rich.console import Console

from .._runtime import Runtime
from ..config import settings_from_env
from ..definitions import DefinitionRegistry
from ._paths import find_definition_roots
from ._report_view import print_report


def reading_runtime(roots: tuple[str, ...], registry: DefinitionRegistry | None = None) -> Runtime:
    """A runtime that only reads the counters: settings from the environment, no exporter.

    A usage error when no Redis URL is set: an embedded server started now would be empty,
    the counters live where the app wrote them.
    """
    settings = settings_from_env(definitions=roots, exporters=("none",))
    if not settings.redis_url:
        raise click.UsageError(
            "no Redis to read: set OTEL_INTERNAL_EVENTS_REDIS_URL (or REDIS_URL) to the server the app writes to"
        )
    return Runtime(settings, registry=registry)


@click.command()
@click.option("--at", "at", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Compute as of this day.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False))
def report(at: dt.datetime | None, fmt: str, paths: tuple[str, ...]) -> None:
    """Print every metric's value (7d, 28d, all) from Redis, Service-Ping-shaped with --format json.

    Reads OTEL_INTERNAL_EVENTS_REDIS_URL (or REDIS_URL) and the definitions in PATHS, or
    OTEL_INTERNAL_EVENTS_DEFINITIONS, or ./definitions.
    """
    runtime = reading_runtime(find_definition_roots(paths))
    print_report(runtime.report(at.date() if at else None), runtime.registry, fmt, Console())
