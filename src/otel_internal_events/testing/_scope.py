"""Test scopes: which test is running, and what the runtime was when its fixtures were set up.

The bottom of the testing package: the plugin opens a scope around every test, and the
test's session (:mod:`._session`, created by the first matcher) attaches itself to it. This
module knows sessions only as something to close, so that it imports nothing of the package.
The runtime's state is read through the public functions of :mod:`otel_internal_events`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import otel_internal_events as oie

__all__ = ["FLUSH_TIMEOUT_MILLIS", "Closing", "Scope", "begin_call", "begin_test", "current_scope", "end_test"]

#: How long the end of a test, or a metric read, waits for the tracked events to be delivered.
FLUSH_TIMEOUT_MILLIS = 10_000


class Closing(Protocol):
    """What a scope closes when its test ends: the test's session."""

    def close(self) -> list[str]:
        """Reset what the session set up; the problems found (never raises)."""
        ...


class Scope:
    """One running test, and the session attached to it once a matcher needs one.

    ``described_class`` is what the test's ``described_class`` marker names (or None).
    ``runtime`` and ``disabled_reason`` are the runtime's state once the test's fixtures are
    set up: what differs at the end was done by the test body, and is reset.
    """

    __slots__ = ("definitions", "described_class", "disabled_reason", "owner", "runtime", "session")

    def __init__(
        self, owner: object, definitions: Callable[[], Sequence[str]] | None, described_class: object = None
    ) -> None:
        self.owner = owner
        self.definitions = definitions
        #: The class the test describes (GitLab's ``described_class``), from its marker; or None.
        self.described_class = described_class
        self.session: Closing | None = None
        self.runtime: oie.Runtime | None = None
        self.disabled_reason: str | None = None
        self.mark()

    def mark(self) -> None:
        """Take the runtime's state as the one the test starts from."""
        self.runtime = oie.configured()
        self.disabled_reason = oie.disabled_reason()

    def close(self) -> list[str]:
        """Close the session, then reset what the test body left behind; the problems found."""
        problems = self.session.close() if self.session is not None else []
        current = oie.configured()
        if current is not None and current is not self.runtime:
            oie.reset(FLUSH_TIMEOUT_MILLIS)  # configured by the test body and left behind
        elif current is None and oie.disabled_reason() is not None:
            oie.reset()  # forget a failed configuration from the environment: retry it next time
        return problems


#: Open test scopes, innermost last (pytester runs tests inside a test, in the same process).
_scopes: list[Scope] = []


def current_scope() -> Scope | None:
    """The scope of the running test; None outside a pytest test."""
    return _scopes[-1] if _scopes else None


def begin_test(
    owner: object, definitions: Callable[[], Sequence[str]] | None = None, described_class: object = None
) -> None:
    """Open the scope of test ``owner`` (``definitions``: folders from the test configuration)."""
    _scopes.append(Scope(owner, definitions, described_class))


def begin_call(owner: object) -> None:
    """The fixtures of ``owner`` are set up: what the runtime is now is theirs."""
    if _scopes and _scopes[-1].owner is owner:
        _scopes[-1].mark()


def end_test(owner: object) -> list[str]:
    """Close the scope of ``owner``, its session, and what the test left; the problems found."""
    if not _scopes or _scopes[-1].owner is not owner:
        return []  # never opened (setup skipped before our hook ran)
    return _scopes.pop().close()
