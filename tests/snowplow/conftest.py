"""Fixtures of the Snowplow tests: the micro collector on a free loopback port, over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ._helpers import SECRET, Micro, ScriptedCollector, start_micro

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
