"""Helpers of the sink tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def redis_keys(redis_client: Any, key_prefix: str) -> Callable[[], list[str]]:
    """``redis_keys()``: this test's keys, sorted, without the prefix."""

    def keys() -> list[str]:
        return sorted(k.decode()[len(key_prefix) :] for k in redis_client.scan_iter(match=f"{key_prefix}*"))

    return keys
