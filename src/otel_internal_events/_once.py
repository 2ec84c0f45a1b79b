"""Log a problem once per cause, then only count it (the tracker and the exporters use it)."""

from __future__ import annotations

import logging
import threading

_MAX_CAUSES = 10_000


class LogOnce:
    """``warn(cause, message)`` logs the first time a cause is seen, never again.

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
