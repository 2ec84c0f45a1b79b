"""Import snowplow-tracker on first use, without the logging set-up it does at import time."""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
from types import ModuleType

from ..errors import MissingExtraError

__all__ = ["load_snowplow_tracker", "require_snowplow_tracker"]

_import_lock = threading.Lock()


def load_snowplow_tracker() -> ModuleType:
    """Import snowplow-tracker once, undoing the logging set-up it does at import time.

    The tracker calls ``logging.basicConfig()`` (a stderr handler on the root logger, if it had
    none) and sets its own loggers to INFO when imported. A library must not configure the
    host's logging, so the handler it added is removed and its loggers follow the host's levels.
    """
    with _import_lock:
        loaded = sys.modules.get("snowplow_tracker")
        if loaded is not None:
            return loaded
        root = logging.getLogger()
        handlers_before = list(root.handlers)
        try:
            import snowplow_tracker
        except ImportError:
            raise MissingExtraError("Sending events to Snowplow", "snowplow", "snowplow-tracker") from None
        finally:
            for handler in [h for h in root.handlers if h not in handlers_before]:
                root.removeHandler(handler)
        for name in ("snowplow_tracker", "snowplow_tracker.emitters", "snowplow_tracker.snowplow"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        return snowplow_tracker


def require_snowplow_tracker() -> None:
    """Raise :class:`MissingExtraError` if snowplow-tracker cannot be imported; without importing it."""
    if "snowplow_tracker" in sys.modules:
        found = sys.modules["snowplow_tracker"] is not None
    else:
        try:
            found = importlib.util.find_spec("snowplow_tracker") is not None
        except (ImportError, ValueError):
            found = False
    if not found:
        raise MissingExtraError("Sending events to Snowplow", "snowplow", "snowplow-tracker")
