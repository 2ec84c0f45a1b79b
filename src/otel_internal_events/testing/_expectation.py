"""What every matcher shares: checking a block (``with``) or a call (``.of``), and ``&``."""

from __future__ import annotations

import copy
import enum
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, Final, ParamSpec, Self, TypeVar, overload

from ._session import Session

__all__ = ["UNSET", "AllOf", "Expectation", "Run", "SessionRun", "Unset"]

P = ParamSpec("P")
T = TypeVar("T")


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = enum.auto()

    def __repr__(self) -> str:
        return "UNSET"


#: A builder argument that was not given, where ``None`` is a value (``category=None``).
UNSET: Final = Unset.UNSET


class Run(ABC):
    """One check in progress: started before the code runs, finished after it."""

    @abstractmethod
    def finish(self) -> list[str]:
        """The failure messages (empty when the expectation is met)."""

    @abstractmethod
    def abort(self) -> None:
        """The code raised: release what :meth:`finish` would have, check nothing."""


class SessionRun(Run):
    """A run the test session counts (when there is one), so that one never finished is reported."""

    def __init__(self, session: Session | None) -> None:
        self._session = session
        self._open = session is not None
        if session is not None:
            session.open_runs += 1

    def done(self) -> None:
        if self._open and self._session is not None:
            self._open = False
            self._session.open_runs -= 1

    def abort(self) -> None:
        self.done()


class Expectation(ABC):
    """An expectation about what a block of code does.

    Use it as a context manager around the code (``with expectation: ...``), or call
    :meth:`of` with a function. Combine several with ``&``: they are checked around the same
    code and every failure is reported at once. An expectation is checked only when the code
    returns; when it raises, the exception goes through and nothing is checked.

    Builder methods (``with_``, ``times``, ``by`` ...) return a new expectation, so that a
    configured one can be kept and reused.
    """

    def __init__(self) -> None:
        self._runs: list[Run] = []

    @abstractmethod
    def _start(self) -> Run:
        """Begin observing (called when the block is entered)."""

    def _copy(self) -> Self:
        clone = copy.copy(self)
        clone._runs = []
        return clone

    def __enter__(self) -> None:
        __tracebackhide__ = True
        self._runs.append(self._start())

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        __tracebackhide__ = True
        _close(self._runs.pop(), failed=exc_type is not None)

    @overload
    def of(
        self, fn: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, T]: ...

    @overload
    def of(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...

    def of(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(*args, **kwargs)``, check the expectation, and return what ``fn`` returned.

        When ``fn`` returns an awaitable (an ``async def`` function), ``of`` returns a
        coroutine to await instead: the expectation is checked once the awaitable is done.
        A coroutine left un-awaited fails the test at teardown.
        """
        __tracebackhide__ = True
        run = self._start()
        try:
            result = fn(*args, **kwargs)
        except BaseException:
            run.abort()
            raise
        if inspect.isawaitable(result):
            return _check_after(run, result)
        _close(run, failed=False)
        return result

    def __and__(self, other: Expectation) -> Expectation:
        """Both expectations, checked around the same code; failures are reported together."""
        if not isinstance(other, Expectation):
            return NotImplemented
        return AllOf(self, other)


async def _check_after(run: Run, awaitable: Awaitable[T]) -> T:
    __tracebackhide__ = True
    try:
        result = await awaitable
    except BaseException:
        run.abort()
        raise
    _close(run, failed=False)
    return result


def _close(run: Run, *, failed: bool) -> None:
    __tracebackhide__ = True
    if failed:
        run.abort()
        return
    failures = run.finish()
    if failures:
        raise AssertionError(_join(failures))


def _join(failures: list[str]) -> str:
    if len(failures) == 1:
        return failures[0]
    parts = [f"{len(failures)} expectations failed:"]
    for number, failure in enumerate(failures, 1):
        first, *rest = failure.splitlines()
        parts.append(f"({number}) {first}")
        parts.extend(f"    {line}" for line in rest)
    return "\n".join(parts)


class AllOf(Expectation):
    """Several expectations around the same code, entered in order and checked in reverse."""

    def __init__(self, *parts: Expectation) -> None:
        super().__init__()
        flat: list[Expectation] = []
        for part in parts:
            flat.extend(part._parts if isinstance(part, AllOf) else (part,))
        self._parts: tuple[Expectation, ...] = tuple(flat)

    def _start(self) -> Run:
        __tracebackhide__ = True
        started: list[Run] = []
        try:
            for part in self._parts:
                started.append(part._start())
        except BaseException:
            for run in reversed(started):
                run.abort()
            raise
        return _AllRun(started)

    def __repr__(self) -> str:
        return " & ".join(repr(part) for part in self._parts)


class _AllRun(Run):
    def __init__(self, runs: list[Run]) -> None:
        self._runs = runs

    def finish(self) -> list[str]:
        results: list[list[str]] = []
        pending = list(self._runs)
        try:
            while pending:
                results.append(pending.pop().finish())
        except BaseException:
            for run in pending:
                run.abort()
            raise
        return [failure for result in reversed(results) for failure in result]

    def abort(self) -> None:
        for run in reversed(self._runs):
            run.abort()
