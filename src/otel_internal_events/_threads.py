"""The package's threads, which leave the signals meant for the process to the application.

A signal sent to the process (``SIGTERM`` from a process manager or a pool's ``terminate()``,
``SIGINT`` from a terminal) goes to any one of its threads that does not block it. Python runs
the handler in the main thread, but only once that thread runs Python code again; and a thread
blocked in a wait is woken only when the signal was delivered to it. Delivered to one of our
threads, a ``SIGTERM`` could so leave a main thread that waits on a lock waiting forever, its
handler never run. Our threads block these signals, so that they reach the main thread (or
another of the application's), whose waits they interrupt.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

__all__ = ["new_thread"]

_PROCESS_SIGNALS = frozenset(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)


def new_thread(target: Callable[[], object], name: str) -> threading.Thread:
    """A daemon thread (not started yet) that runs ``target`` with the process's signals blocked."""

    def run() -> None:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, _PROCESS_SIGNALS)
        target()

    return threading.Thread(target=run, name=name, daemon=True)
