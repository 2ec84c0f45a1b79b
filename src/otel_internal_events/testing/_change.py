"""``increment_usage_metrics`` and ``changes``: a value read before and after the code."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from ._expectation import UNSET, Expectation, Run, SessionRun
from ._session import Session, active_session

__all__ = ["Change", "changes", "increment_usage_metrics", "not_increment_usage_metrics"]


Number = int | float


def increment_usage_metrics(*key_paths: str | Iterable[str]) -> Change:
    """Expect the code to increase each metric, by 1 by default, as read from Redis.

    Values are read before and after the code, after a flush, with the time frames GitLab's
    specs use: 7d reads the previous and the current ISO week, 28d the last five weeks (the
    current one included), so that the events a test tracks count. Chain :meth:`Change.by`,
    :meth:`Change.by_at_least`, :meth:`Change.by_at_most` (also spelled ``at_least`` and
    ``at_most``), :meth:`Change.from_` and :meth:`Change.to`. An unknown key path raises
    :class:`~otel_internal_events.UnknownMetricError` at once, with a did-you-mean hint::

        with increment_usage_metrics("counts.count_total_open_web_ide").by(2):
            ...
    """
    __tracebackhide__ = True
    return Change(_Metrics(_key_paths(key_paths, "increment_usage_metrics")), default_by=1)


def not_increment_usage_metrics(*key_paths: str | Iterable[str]) -> Expectation:
    """Expect the code to leave each metric unchanged."""
    __tracebackhide__ = True
    return Change(_Metrics(_key_paths(key_paths, "not_increment_usage_metrics")), default_by=0, negated=True)


def changes(read: Callable[[], object], name: str | None = None) -> Change:
    """Expect the code to change what ``read()`` returns (any change, unless chained).

    For the test's own state next to the events and metrics it tracks::

        with trigger_internal_events("x") & changes(lambda: len(store.items), "len(store.items)").by(1):
            store.add(item)

    ``name`` is shown in failure messages (default: the function's name).
    """
    shown = name if name is not None else str(getattr(read, "__qualname__", repr(read)))
    return Change(_Callable(read, shown), default_by=None)


def _key_paths(key_paths: tuple[str | Iterable[str], ...], caller: str) -> tuple[str, ...]:
    __tracebackhide__ = True
    names: dict[str, None] = {}
    for item in key_paths:
        for key_path in (item,) if isinstance(item, str) else item:
            if not isinstance(key_path, str):
                raise TypeError(f"metric key paths are strings, got {key_path!r}")
            names[key_path] = None
    if not names:
        raise ValueError(f"{caller}() needs at least one metric key path")
    registry = active_session().registry()
    for key_path in names:
        metric = registry.metric(key_path)  # raises UnknownMetricError with a did-you-mean hint
        if not metric.is_computed:
            raise ValueError(
                f"metric {key_path!r} is not computed from internal events "
                f"(status {metric.status!r}, data_source {metric.data_source!r}): its value cannot change"
            )
    return tuple(names)


class _Subject(ABC):
    """What a :class:`Change` reads: one value per name."""

    @abstractmethod
    def start(self) -> Session | None:
        """Prepare to read; the session to count the run in, if any."""

    @abstractmethod
    def read(self) -> dict[str, object]: ...

    @abstractmethod
    def label(self, name: str) -> str: ...

    def unreadable(self, value: object) -> bool:
        return False


class _Metrics(_Subject):
    def __init__(self, key_paths: tuple[str, ...]) -> None:
        self.key_paths = key_paths

    def start(self) -> Session:
        return active_session()

    def read(self) -> dict[str, object]:
        __tracebackhide__ = True
        return dict(active_session().metric_values(self.key_paths))

    def label(self, name: str) -> str:
        return f"metric {name!r}"

    def unreadable(self, value: object) -> bool:
        return value == -1  # Redis could not be read, as Service Ping reports it

    def __repr__(self) -> str:
        return ", ".join(map(repr, self.key_paths))


class _Callable(_Subject):
    def __init__(self, read: Callable[[], object], name: str) -> None:
        self._read = read
        self.name = name

    def start(self) -> None:
        return None

    def read(self) -> dict[str, object]:
        return {self.name: self._read()}

    def label(self, name: str) -> str:
        return name

    def __repr__(self) -> str:
        return self.name


class Change(Expectation):
    """A value expected to change; built by :func:`increment_usage_metrics` and :func:`changes`.

    Without a chain: metrics must increase by 1, :func:`changes` values must change at all.
    With :meth:`from_` or :meth:`to` alone, the value must also change. Every builder method
    returns a new expectation.
    """

    def __init__(self, subject: _Subject, *, default_by: Number | None, negated: bool = False) -> None:
        super().__init__()
        self._subject = subject
        self._default_by = default_by
        self._negated = negated
        self._by: Number | None = None
        self._at_least: Number | None = None
        self._at_most: Number | None = None
        self._from: object = UNSET
        self._to: object = UNSET

    def by(self, delta: Number) -> Change:
        """Change by exactly ``delta`` (``by(0)``: unchanged)."""
        return self._chain("_by", _number(delta))

    def by_at_least(self, delta: Number) -> Change:
        """Increase by at least ``delta`` (also spelled :meth:`at_least`)."""
        return self._chain("_at_least", _number(delta))

    def by_at_most(self, delta: Number) -> Change:
        """Increase by at most ``delta`` (also spelled :meth:`at_most`)."""
        return self._chain("_at_most", _number(delta))

    at_least = by_at_least
    at_most = by_at_most

    def from_(self, value: object) -> Change:
        """Start at ``value``."""
        return self._chain("_from", value)

    def to(self, value: object) -> Change:
        """End at ``value``."""
        return self._chain("_to", value)

    def _chain(self, attribute: str, value: object) -> Change:
        if self._negated:
            raise TypeError("not_increment_usage_metrics() takes no chains: the value must not change")
        clone = self._copy()
        setattr(clone, attribute, value)
        return clone

    def _start(self) -> Run:
        __tracebackhide__ = True
        return _ChangeRun(self)

    def _check(self, name: str, before: object, after: object) -> str | None:
        label = self._subject.label(name)
        if self._subject.unreadable(before) or self._subject.unreadable(after):
            return f"{label} could not be read from Redis (before: {before!r}, after: {after!r})"
        went = f"it went from {before!r} to {after!r}{_delta_text(before, after)}"
        if self._negated:
            return None if after == before else f"expected {label} not to change, but {went}"
        wanted: list[str] = []
        met = True
        if self._from is not UNSET:
            wanted.append(f"from {self._from!r}")
            met &= before == self._from
        if self._to is not UNSET:
            wanted.append(f"to {self._to!r}")
            met &= after == self._to
        by = self._by
        if by is None and self._at_least is None and self._at_most is None:
            if wanted or self._default_by is None:
                met &= after != before  # as RSpec's change: from/to alone also need a change
            else:
                by = self._default_by
        delta = _delta(before, after)
        if by is not None:
            wanted.append(f"by {by!r}")
            met &= delta == by
        if self._at_least is not None:
            wanted.append(f"by at least {self._at_least!r}")
            met &= delta is not None and delta >= self._at_least
        if self._at_most is not None:
            wanted.append(f"by at most {self._at_most!r}")
            met &= delta is not None and delta <= self._at_most
        if met:
            return None
        return f"expected {label} to change{''.join(' ' + w for w in wanted)}, but {went}"

    def __repr__(self) -> str:
        kind = "changes" if isinstance(self._subject, _Callable) else "increment_usage_metrics"
        return f"{'not_' if self._negated else ''}{kind}({self._subject!r})"


class _ChangeRun(SessionRun):
    def __init__(self, change: Change) -> None:
        __tracebackhide__ = True
        self._change = change
        session = change._subject.start()
        self._before = change._subject.read()
        super().__init__(session)

    def finish(self) -> list[str]:
        try:
            after = self._change._subject.read()
        finally:
            self.done()
        failures = []
        for name, before in self._before.items():
            failure = self._change._check(name, before, after[name])
            if failure:
                failures.append(failure)
        return failures


def _number(value: Number) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return value


def _delta(before: object, after: object) -> Number | None:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (before, after))
    return after - before if numbers else None  # type: ignore[operator]


def _delta_text(before: object, after: object) -> str:
    delta = _delta(before, after)
    return "" if delta is None else f" ({delta:+})"
