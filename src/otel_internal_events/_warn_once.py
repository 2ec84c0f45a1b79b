"""Warn once per cause: the first warning of each cause is logged, its repeats are not.

The tracker and the exporters use it; what repeats is counted by their own counters."""

from __future__ import annotations

import logging
import threading

_MAX_CAUSES = 10_000


class WarnOnce:
    """``warn(cause, message)`` logs the first time a cause is seen, never again (it keeps up to
    10,000 causes; past that, new ones are not logged).

    ``suffix`` is appended to every message, to tell the reader that repeats are not shown.
    """

    def __init__(self, logger: logging.Logger, suffix: str = " (logged once per cause)") -> None:
        self._logger = logger
        self._suffix = suffix
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def warn(self, cause: str, message: str, *args: object) -> None:
        if cause in self._seen:
            return
        with self._lock:
            if cause in self._seen or len(self._seen) >= _MAX_CAUSES:
                return
            self._seen.add(cause)
        self._logger.warning(message + self._suffix, *args)
