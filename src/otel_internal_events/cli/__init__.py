"""The ``otel-internal-events`` command."""

from ._main import main

__all__ = ["main"]
