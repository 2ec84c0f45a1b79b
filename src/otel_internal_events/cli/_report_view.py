"""Printing a metric report: a table, or Service-Ping-shaped JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from ..definitions import DefinitionRegistry


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The inverse of nesting: ``{"counts": {"a": 1}}`` -> ``{"counts.a": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def print_report(report: dict[str, Any], registry: DefinitionRegistry, fmt: str, console: Console) -> None:
    if fmt == "json":
        console.print_json(json.dumps(report))
        return
    values = flatten({k: v for k, v in report.items() if isinstance(v, dict)})
    table = Table(title=f"metrics as of {report['as_of']} (recorded {report['recorded_at']})")
    table.add_column("key path", overflow="fold")
    table.add_column("time frame")
    table.add_column("kind")
    table.add_column("value", justify="right")
    for key_path, value in sorted(values.items()):
        metric = registry.metrics.get(key_path)
        frame, kind = (metric.time_frame, metric.kind) if metric else ("?", "?")
        shown = f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
        table.add_row(key_path, frame, kind, shown)
    console.print(table)
