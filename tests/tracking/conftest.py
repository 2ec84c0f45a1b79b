"""Helpers of the tracking tests: captured log records."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from otel_internal_events import Runtime


@pytest.fixture
def capture_logs() -> Callable[[Runtime], InMemoryLogRecordExporter]:
    """``capture_logs(runtime)``: an in-memory exporter receiving every record of ``runtime``."""

    def attach(runtime: Runtime) -> InMemoryLogRecordExporter:
        exporter = InMemoryLogRecordExporter()
        runtime.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        return exporter

    return attach
