"""Test scopes: which test is running, and what the pipeline was when its fixtures were set up.

Kept apart from :mod:`._session` and light on imports: the plugin opens a scope around every
test, and a test that uses no matcher must not pay for loading the pipeline. The pipeline's
state is read only when its module is already loaded (otherwise there is none).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._session import Session

__all__ = ["FLUSH_TIMEOUT_MILLIS", "Scope", "begin_call", "begin_test", "end_test"]

#: How long the end of a test waits for the events it tracked to be delivered.
FLUSH_TIMEOUT_MILLIS = 10_000
_PIPELINE = "otel_internal_events._pipeline"


def _pipeline() -> Any:
    return sys.modules.get(_PIPELINE)


class Scope:
    """One running test; its session is created on first use.

    ``runtime`` and ``disabled_reason`` are the pipeline's state once the test's fixtures are
    set up: what differs at the end was done by the test body, and is reset.
    """

    __slots__ = ("definitions", "disabled_reason", "owner", "runtime", "session")

    def __init__(self, owner: object, definitions: Callable[[], Sequence[str]] | None) -> None:
        self.owner = owner
        self.definitions = definitions
        self.session: Session | None = None
        self.mark()

    def mark(self) -> None:
        """Take the pipeline's state as the one the test starts from."""
        pipeline = _pipeline()
        self.runtime = pipeline._current if pipeline is not None else None
        self.disabled_reason = pipeline._disabled_reason if pipeline is not None else None

    def close(self) -> list[str]:
        problems = self.session.close() if self.session is not None else []
        pipeline = _pipeline()
        if pipeline is None:
            return problems  # nothing in this process has configured a pipeline
        current = pipeline._current
        if current is not self.runtime and current is not None:
            pipeline.shutdown(FLUSH_TIMEOUT_MILLIS)  # configured by the test body and left behind
        elif current is None and pipeline._disabled_reason is not None:
            pipeline.shutdown()  # forget a failed configuration from the environment: retry it next time
        return problems


#: Open test scopes, innermost last (pytester runs tests inside a test, in the same process).
_scopes: list[Scope] = []


def begin_test(owner: object, definitions: Callable[[], Sequence[str]] | None = None) -> None:
    """Open the scope of test ``owner`` (``definitions``: folders from the test configuration)."""
    _scopes.append(Scope(owner, definitions))


def begin_call(owner: object) -> None:
    """The fixtures of ``owner`` are set up: what the pipeline is now is theirs."""
    if _scopes and _scopes[-1].owner is owner:
        _scopes[-1].mark()


def end_test(owner: object) -> list[str]:
    """Close the scope of ``owner``, its session, and what the test left; the problems found."""
    if not _scopes or _scopes[-1].owner is not owner:
        return []  # never opened (setup skipped before our hook ran)
    return _scopes.pop().close()
