"""The package's one fork strategy: objects with threads, locks or pipes start afresh in a forked child.

``os.fork()`` copies only the thread that called it. A lock another thread held at that moment
stays held forever in the child, a worker thread is gone, and a pipe or socket is shared with
the parent. Each object that owns such things registers here with the function that gives it
new ones (:func:`renew_in_forked_child`); one hook, registered once when this module is first
imported, calls them in the child. Registrations are weak: an object that is gone is skipped.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["renew_in_forked_child"]

T = TypeVar("T")

_renewals: weakref.WeakKeyDictionary[Any, Callable[[Any], None]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def renew_in_forked_child(owner: T, renew: Callable[[T], None]) -> None:
    """Call ``renew(owner)`` in every child forked from now on, while ``owner`` lives."""
    with _lock:
        _renewals[owner] = renew


def _in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    for owner, renew in list(_renewals.items()):
        renew(owner)


os.register_at_fork(after_in_child=_in_child)
