"""``otel-internal-events monitor [EVENT...]``: events and the metric values they move, live.

The feed is Redis itself: every poll reads each event's all-time counter
(``{event_counters}_<event>``) and the values of the metrics that count the events. Counters are
written by every process of the app and by the gateway alike, so the monitor sees them all
without a collector of its own, at the cost of seeing counts rather than individual events.
"""

from __future__ import annotations

import io
import os
import select
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .._runtime import Runtime
from ..definitions import DefinitionRegistry, EventRule, MetricDefinition
from ..errors import UnknownEventError
from ..metrics import MetricValue, RedisKeys
from ._paths import definitions_option, find_definition_roots, load_or_exit
from ._report import reading_runtime

__all__ = ["EventCounts", "monitor"]

_QUIT_KEYS = frozenset(b"qQ")


class EventCounts:
    """Reads the all-time totals of some events and the values of the metrics that count them."""

    def __init__(self, runtime: Runtime, events: Sequence[str]) -> None:
        self._runtime = runtime
        self.events = tuple(events)
        keys = RedisKeys(runtime.settings.key_prefix)
        self._keys = [keys.base(EventRule(event, time_framed=False)) for event in self.events]
        registry = runtime.registry
        metrics = (metric for event in self.events for metric in registry.metrics_for(event))
        by_path = {metric.key_path: metric for metric in metrics if metric.is_available}
        #: The metrics counting the events, sorted by key path.
        self.metrics: list[MetricDefinition] = [by_path[path] for path in sorted(by_path)]

    def totals(self) -> dict[str, int]:
        """Each event's all-time total."""
        replies = self._runtime.redis.mget(self._keys)
        return {event: int(reply or 0) for event, reply in zip(self.events, replies, strict=True)}

    def metric_values(self) -> dict[str, MetricValue]:
        """Each metric's value as of today (-1 when its read failed)."""
        return self._runtime.reader().values(self.metrics, self._runtime.today())


def _view(
    counts: EventCounts,
    totals: Mapping[str, int],
    baseline: Mapping[str, int],
    values: Mapping[str, MetricValue],
    status: str,
) -> Group:
    events = Table(title="Events (all-time counters)", title_justify="left", expand=False)
    events.add_column("event")
    events.add_column("total", justify="right")
    events.add_column("since start", justify="right")
    for event in counts.events:
        increase = totals.get(event, 0) - baseline.get(event, 0)
        events.add_row(event, str(totals.get(event, 0)), f"+{increase}", style="bold green" if increase else None)
    parts: list[Any] = [events]
    if counts.metrics:
        metrics = Table(title="Metrics counting them", title_justify="left", expand=False)
        metrics.add_column("key path")
        metrics.add_column("time frame")
        metrics.add_column("value", justify="right")
        for metric in counts.metrics:
            metrics.add_row(metric.key_path, metric.time_frame, str(values.get(metric.key_path, "")))
        parts.append(metrics)
    parts.append(Text(status, style="dim"))
    return Group(*parts)


@contextmanager
def _keys_from(stream: IO[Any]) -> Iterator[int | None]:
    """The file descriptor of ``stream`` in cbreak mode (restored on exit) when it is a terminal,
    so that one key press is read at once; ``None`` when keys cannot be read from it."""
    try:
        import termios
        import tty

        fd = stream.fileno()
    except (ImportError, OSError, ValueError, io.UnsupportedOperation):
        yield None
        return
    if not os.isatty(fd):
        yield None
        return
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _quit_pressed(fd: int | None, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for a key; True when it is ``q``."""
    if fd is None:
        time.sleep(timeout_s)
        return False
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready and any(key in _QUIT_KEYS for key in os.read(fd, 32)):
            return True
    return False


def _check_events(registry: DefinitionRegistry, events: tuple[str, ...]) -> tuple[str, ...]:
    """The events asked for (default: every internal event, sorted); exit 1 on an unknown one."""
    if not events:
        return tuple(sorted(registry.events))
    for event in events:
        try:
            registry.event(event)
        except UnknownEventError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(1) from None
    return tuple(dict.fromkeys(events))


@click.command()
@click.argument("events", nargs=-1)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between two reads of Redis.",
)
@definitions_option
def monitor(events: tuple[str, ...], interval: float, paths: tuple[str, ...]) -> None:
    """Show EVENTS (default: all) live as they are tracked, and the metric values they move; q quits.

    The feed is Redis: every --interval seconds the monitor reads each event's all-time counter
    and the metrics that count the events, so it sees what every process of the app and the
    gateway write. Reads OTEL_INTERNAL_EVENTS_REDIS_URL (or REDIS_URL) and
    OTEL_INTERNAL_EVENTS_KEY_PREFIX like ``report``. Exits 1 when an EVENT is not defined.
    """
    roots = find_definition_roots(paths)
    registry = load_or_exit(roots, "nothing to monitor")
    counts = EventCounts(reading_runtime(roots, registry), _check_events(registry, events))
    console = Console()
    baseline: dict[str, int] | None = None
    totals: dict[str, int] = {}
    values: dict[str, MetricValue] = {}
    try:
        with _keys_from(sys.stdin) as fd, Live(console=console, auto_refresh=False) as live:
            hint = "q quits" if fd is not None else "Ctrl-C quits"
            while True:
                try:
                    totals, values = counts.totals(), counts.metric_values()
                    status = f"{time.strftime('%H:%M:%S')}  every {interval:g}s  {hint}"
                except Exception as exc:  # the server went away: keep the last figures, say so
                    status = f"cannot read Redis: {exc}  {hint}"
                if baseline is None and totals:
                    baseline = dict(totals)
                live.update(_view(counts, totals, baseline or {}, values, status), refresh=True)
                if _quit_pressed(fd, interval):
                    break
    except KeyboardInterrupt:
        pass  # Ctrl-C is a way to quit, not an error
