"""The ``otel-internal-events`` command, and :func:`run_demo`, the demo behind ``otel-internal-events demo``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._main import main

if TYPE_CHECKING:
    from ._demo import run_demo

__all__ = ["main", "run_demo"]

__getattr__, __dir__ = lazy_attributes(__name__, globals(), {"run_demo": "._demo"}, __all__)
