"""Helpers of the sink tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from otel_internal_events.sinks import BATCH_MARKER_TAG


@pytest.fixture
def redis_keys(redis_client: Any, key_prefix: str) -> Callable[[], list[str]]:
    """``redis_keys()``: this test's counter keys, sorted, without the prefix (not the batch markers)."""

    def keys() -> list[str]:
        found = (k.decode()[len(key_prefix) :] for k in redis_client.scan_iter(match=f"{key_prefix}*"))
        return sorted(k for k in found if BATCH_MARKER_TAG not in k)

    return keys
