"""Fixtures of the decorator tests: a span exporter on the global tracer provider, values read
back from Redis after a flush."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_internal_events as oie


class Project:
    def __init__(self, pid: int, namespace: int = 1000) -> None:
        self.id = pid
        self.namespace = namespace


class User:
    def __init__(self, uid: int) -> None:
        self.id = uid


@pytest.fixture(scope="session")
def global_tracer_provider() -> TracerProvider:
    """The SDK tracer provider installed globally, once: OpenTelemetry allows one per process."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    return provider


@pytest.fixture
def finished_spans(global_tracer_provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    """The spans ended during the test."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    global_tracer_provider.add_span_processor(processor)
    yield exporter
    exporter.clear()
    processor.shutdown()  # stops exporting; the provider keeps it, but it no longer records


#: The week after the clock fixture's: weekly unique counts cover the last complete week.
NEXT_WEEK = dt.date(2026, 12, 2)


def value(key_path: str, at: dt.date | None = None) -> Any:
    """A metric's value once everything tracked so far is in Redis (``at``: default today)."""
    assert oie.flush()
    return oie.metric_value(key_path, at=at)
