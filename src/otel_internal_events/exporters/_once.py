"""Log a problem once per cause, then only count it."""

from __future__ import annotations

import logging
import threading

_MAX_CAUSES = 1000


class LogOnce:
    """``warn(cause, message)`` logs the first time a cause is seen, never again."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def warn(self, cause: str, message: str, *args: object) -> None:
        if cause in self._seen:
            return
        with self._lock:
            if cause in self._seen or len(self._seen) >= _MAX_CAUSES:
                return
            self._seen.add(cause)
        self._logger.warning(message + " (logged once per cause)", *args)
