"""Helpers of the exporter tests: metric points, a free port, bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

Points = dict[tuple[tuple[str, Any], ...], int | float]


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
