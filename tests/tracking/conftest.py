"""Helpers of the tracking tests: captured log records and metric points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from otel_internal_events._pipeline import Runtime

Points = dict[tuple[tuple[str, Any], ...], int | float]


@pytest.fixture
def capture_logs() -> Callable[[Runtime], InMemoryLogRecordExporter]:
    """``capture_logs(runtime)``: an in-memory exporter receiving every record of ``runtime``."""

    def attach(runtime: Runtime) -> InMemoryLogRecordExporter:
        exporter = InMemoryLogRecordExporter()
        runtime.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        return exporter

    return attach


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
