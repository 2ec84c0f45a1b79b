"""``otel-internal-events validate``: check definition trees, print a summary or every problem."""

from __future__ import annotations

import json
from collections import Counter

import click
from rich.console import Console
from rich.table import Table

from ..definitions import DefinitionRegistry, load_definitions
from ..errors import DefinitionsInvalidError
from ._paths import find_definition_roots

_FRAMES = ("7d", "28d", "all", "none")
_KINDS = ("unique", "total", "sum")


def summarize(registry: DefinitionRegistry) -> dict[str, object]:
    """Counts of events and of metrics by time frame and kind."""
    table: Counter[tuple[str, str]] = Counter()
    skipped = 0
    for metric in registry.metrics.values():
        if metric.data_source != "internal_events":
            skipped += 1
            continue
        table[(metric.time_frame, metric.kind)] += 1
    return {
        "events": len(registry.events),
        "metrics": sum(table.values()),
        "metrics_by_time_frame": {f: sum(n for (tf, _), n in table.items() if tf == f) for f in _FRAMES[:3]},
        "metrics_by_kind": {k: sum(n for (_, kind), n in table.items() if kind == k) for k in _KINDS},
        "metrics_table": {f: {k: table[(f, k)] for k in _KINDS} for f in _FRAMES[:3]},
        "metrics_not_internal_events": skipped,
    }


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(paths: tuple[str, ...], fmt: str) -> None:
    """Validate definition folders (each with events/ and metrics/).

    Exits 0 when every file is valid, 1 when there is any problem (all are listed).
    """
    roots = find_definition_roots(paths)
    try:
        registry = load_definitions(*roots)
    except DefinitionsInvalidError as exc:
        if fmt == "json":
            errors = [e.to_dict() for e in exc.errors]
            click.echo(json.dumps({"valid": False, "paths": list(roots), "errors": errors}, indent=2))
        else:
            console = Console(stderr=True, highlight=False, soft_wrap=True)
            for error in exc.errors:
                console.print(f"[red]error[/red] {error}", markup=True)
            console.print(f"\n{len(exc.errors)} problem(s) in {', '.join(roots)}")
        raise SystemExit(1) from None
    summary = summarize(registry)
    if fmt == "json":
        click.echo(json.dumps({"valid": True, "paths": list(roots), **summary}, indent=2))
        return
    _print_summary(roots, summary)


def _print_summary(roots: tuple[str, ...], summary: dict[str, object]) -> None:
    console = Console(highlight=False)
    console.print(f"[green]valid[/green]: {', '.join(roots)}: {summary['events']} events, {summary['metrics']} metrics")
    table = Table("time frame", *_KINDS, "all kinds", title="metrics by time frame and kind")
    cells = summary["metrics_table"]
    assert isinstance(cells, dict)
    for frame, kinds in cells.items():
        table.add_row(frame, *(str(kinds[k]) for k in _KINDS), str(sum(kinds.values())))
    console.print(table)
    skipped = summary["metrics_not_internal_events"]
    if skipped:
        console.print(f"{skipped} metric(s) with another data_source were checked and are not computed")
