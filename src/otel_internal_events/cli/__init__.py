"""The ``otel-internal-events`` command; :func:`run_demo`, the demo behind ``otel-internal-events
demo``; and :func:`demo_web_app`, the page behind ``otel-internal-events demo --web``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from ._main import main

if TYPE_CHECKING:
    from ._demo import run_demo
    from ._demo_web import DEMO_USER, demo_web_app

__all__ = ["DEMO_USER", "demo_web_app", "main", "run_demo"]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    globals(),
    {"run_demo": "._demo", "demo_web_app": "._demo_web", "DEMO_USER": "._demo_web"},
    __all__,
)
