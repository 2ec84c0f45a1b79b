"""Helpers of the exporter tests: metric points, a free port, bounded waits."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

Points = dict[tuple[tuple[str, Any], ...], int | float]


@pytest.fixture
def points(metric_reader: InMemoryMetricReader) -> Callable[[str], Points]:
    """``points(name)``: the data points of metric ``name``, keyed by their sorted attributes."""

    def read(name: str) -> Points:
        found: Points = {}
        data = metric_reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        for point in metric.data.data_points:
                            found[tuple(sorted(point.attributes.items()))] = point.value
        return found

    return read


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def stays_absent(redis_client: Any) -> Callable[[str, float], bool]:
    """``stays_absent(key, seconds)``: True when ``key`` does not appear within ``seconds``."""

    def check(key: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if redis_client.exists(key):
                return False
            time.sleep(0.01)
        return not redis_client.exists(key)

    return check
