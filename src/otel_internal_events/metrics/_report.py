"""The Service-Ping-shaped report: every computed metric, nested by key path."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..definitions import DefinitionRegistry
from ._values import MetricValue, RedisMetricValues

__all__ = ["build_report", "nest"]


def nest(values: dict[str, MetricValue]) -> dict[str, Any]:
    """``{"counts.a": 1}`` -> ``{"counts": {"a": 1}}`` (GitLab's KeyPathProcessor)."""
    tree: dict[str, Any] = {}
    for key_path, value in sorted(values.items()):
        *parents, leaf = key_path.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def build_report(
    registry: DefinitionRegistry, reader: RedisMetricValues, at: dt.date, *, recorded_at: dt.datetime
) -> dict[str, Any]:
    """Values of every available internal-events metric as of ``at``."""
    metrics = [m for m in registry.metrics.values() if m.is_computed]
    values = reader.values(metrics, at)
    return {
        "recorded_at": recorded_at.isoformat(timespec="seconds"),
        "as_of": at.isoformat(),
        **nest(values),
    }
