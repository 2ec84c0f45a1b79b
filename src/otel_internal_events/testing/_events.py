"""``trigger_internal_events`` and ``not_trigger_internal_events``: which events a block tracks."""

from __future__ import annotations

from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Self

from ..wire import TrackedEvent
from . import _html
from ._attributes import default_fields, differences, expected_fields, show_event, show_fields
from ._expectation import UNSET, Expectation, Run, SessionRun, Unset
from ._scope import current_scope
from ._session import Session, active_session

__all__ = [
    "NotTriggerInternalEvents",
    "TriggerInternalEvents",
    "not_trigger_internal_events",
    "trigger_internal_events",
]


_SHOWN = 10  # events listed at most in a failure message


def trigger_internal_events(*events: str | Iterable[str]) -> TriggerInternalEvents:
    """Expect the code to track each of ``events``, once by default.

    ``events`` are event names (lists are flattened); an unknown name raises
    :class:`~otel_internal_events.UnknownEventError` at once, with a did-you-mean hint.
    Every call of an event counts; as in GitLab, each must also reach Snowplow with the
    attributes of :meth:`TriggerInternalEvents.with_` (without it: the default category).
    Count with ``once``/``twice``/``thrice``/``times``/``exactly``/``at_least``/``at_most``/
    ``never``, then apply around a block (``with``), to a call
    (``.of(fn)``) or to rendered HTML (``.in_html(html)``)::

        with trigger_internal_events("open_web_ide").with_(user=user, project=project):
            ide.open(user, project)
    """
    __tracebackhide__ = True
    names = _names(events)
    if not names:
        raise ValueError("trigger_internal_events() needs at least one event name")
    return TriggerInternalEvents(names)


def not_trigger_internal_events(*events: str | Iterable[str]) -> NotTriggerInternalEvents:
    """Expect the code to track none of ``events``; with no names, no event at all.

    Unknown names raise :class:`~otel_internal_events.UnknownEventError` at once.
    Apply around a block, to a call (``.of``) or to rendered HTML (``.in_html``).
    """
    __tracebackhide__ = True
    return NotTriggerInternalEvents(_names(events))


def _names(events: tuple[str | Iterable[str], ...]) -> tuple[str, ...]:
    __tracebackhide__ = True
    names: dict[str, None] = {}
    for item in events:
        for name in (item,) if isinstance(item, str) else item:
            if not isinstance(name, str):
                raise TypeError(f"event names are strings, got {name!r}")
            names[name] = None
    if names:
        registry = active_session().registry()
        for name in names:
            registry.event(name)  # raises UnknownEventError with a did-you-mean hint
    return tuple(names)


class TriggerInternalEvents(Expectation):
    """Built by :func:`trigger_internal_events`; every builder method returns a new one."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self._names = names
        self._attributes: dict[str, object] | None = None
        self._exactly: int | None = None
        self._low: int | None = None
        self._high: int | None = None
        self._on: Literal["click", "load"] | None = None

    # -- builders ---------------------------------------------------------------------------

    def with_(
        self,
        *,
        user: object = UNSET,
        project: object = UNSET,
        namespace: object = UNSET,
        category: object = UNSET,
        additional_properties: Mapping[str, Any] | Unset = UNSET,
        feature_enabled_by_namespace_ids: Iterable[int] | Unset = UNSET,
    ) -> TriggerInternalEvents:
        """Expect the calls to carry these attributes, as GitLab's ``with``.

        ``user``, ``project`` and ``namespace`` (objects with an ``id``, or ids) not given are
        expected absent, except that ``namespace`` defaults to the project's.
        ``additional_properties``: ``label``, ``property`` and ``value`` are checked only when
        given; the others must be exactly the ones given (none by default).
        ``category`` (a string, or a class for its name) defaults to the class named by the
        test's ``described_class`` marker, else to Snowplow's default (``InternalEventTracking``,
        which ``category=None`` also means). Several ``with_`` calls add up.
        """
        given = {
            "user": user,
            "project": project,
            "namespace": namespace,
            "category": category,
            "additional_properties": additional_properties,
            "feature_enabled_by_namespace_ids": feature_enabled_by_namespace_ids,
        }
        clone = self._copy()
        clone._attributes = {**(self._attributes or {}), **{k: v for k, v in given.items() if v is not UNSET}}
        expected_fields(clone._attributes)  # a wrong kind of value raises now, not after the code ran
        return clone

    def times(self, count: int | None = None) -> TriggerInternalEvents:
        """Exactly ``count`` times per event name.

        Without a count it only reads well after another chain, as in RSpec:
        ``.exactly(3).times()``, ``.at_least(2).times()``.
        """
        if count is None:
            return self._copy()
        return self._count(exactly=_count(count))

    time = times

    def exactly(self, count: int | str) -> TriggerInternalEvents:
        """Exactly ``count`` times per event name (an int, or ``"once"``/``"twice"``/``"thrice"``)."""
        return self._count(exactly=_count(count))

    def once(self) -> TriggerInternalEvents:
        """Once per event name (the default)."""
        return self.times(1)

    def twice(self) -> TriggerInternalEvents:
        """Twice per event name."""
        return self.times(2)

    def thrice(self) -> TriggerInternalEvents:
        """Three times per event name."""
        return self.times(3)

    def never(self) -> TriggerInternalEvents:
        """Not at all: no call of the event, whatever its attributes (as RSpec's ``never``)."""
        return self.times(0)

    def at_least(self, count: int | str) -> TriggerInternalEvents:
        """At least ``count`` times per event name (add :meth:`at_most` for a range)."""
        return self._count(low=_count(count), high=self._high)

    def at_most(self, count: int | str) -> TriggerInternalEvents:
        """At most ``count`` times per event name (add :meth:`at_least` for a range)."""
        return self._count(low=self._low, high=_count(count))

    def _count(self, *, exactly: int | None = None, low: int | None = None, high: int | None = None) -> Self:
        if low is not None and high is not None and high < low:
            raise ValueError(f"at_most({high}) is below at_least({low})")
        clone = self._copy()
        clone._exactly, clone._low, clone._high = exactly, low, high
        return clone

    @property
    def _counted(self) -> bool:
        return not (self._exactly is None and self._low is None and self._high is None)

    @property
    def _range(self) -> tuple[int, int | None]:
        if self._exactly is not None:
            return self._exactly, self._exactly
        if self._low is None and self._high is None:
            return 1, 1  # GitLab's default: once per event name
        return self._low or 0, self._high

    def on_click(self) -> TriggerInternalEvents:
        """For :meth:`in_html`: the element tracks on click (the default; not marked for load)."""
        clone = self._copy()
        clone._on = "click"
        return clone

    def on_load(self) -> TriggerInternalEvents:
        """For :meth:`in_html`: the element tracks on page load (``data-event-tracking-load="true"``)."""
        clone = self._copy()
        clone._on = "load"
        return clone

    # -- checks -----------------------------------------------------------------------------

    def in_html(self, html: object) -> None:
        """Assert that an element of ``html`` carries this event's tracking data attributes.

        ``html`` is a string, bytes, an object with ``__html__`` or an ElementTree element.
        Some element must have ``data-event-tracking="<event>"``, ``data-event-tracking-load=
        "true"`` exactly when :meth:`on_load` was used, ``data-event-label``/``-property``/
        ``-value`` equal to those of ``with_(additional_properties=...)`` and absent when not
        given, and the other additional properties as the JSON of ``data-event-additional``.
        Only one event name; no counts, identifiers or category.
        """
        __tracebackhide__ = True
        if len(self._names) != 1:
            raise ValueError("in_html() checks one event; got " + ", ".join(map(repr, self._names)))
        if self._counted:
            raise ValueError("in_html() takes no count (times, at_least, ...): an element tracks each click")
        attributes = dict(self._attributes or {})
        properties = attributes.pop("additional_properties", {})
        if attributes:
            raise ValueError(
                f"in_html() checks additional properties only, not {', '.join(sorted(attributes))}: "
                "the page sends the identifiers itself"
            )
        assert isinstance(properties, Mapping)
        failure = _html.tracking_failure(html, self._names[0], on_load=self._on == "load", properties=properties)
        if failure:
            raise AssertionError(failure)

    def _start(self) -> Run:
        __tracebackhide__ = True
        if self._on is not None:
            raise ValueError("on_click()/on_load() apply to in_html() only, not to a block of code")
        scope = current_scope()
        return _TriggerRun(active_session(), self, self._expected(scope.described_class if scope else None))

    def _expected(self, described_class: object) -> dict[str, object]:
        """What each call must carry: GitLab checks the Snowplow call, with or without ``with``."""
        if self._attributes is None:
            return default_fields()
        return expected_fields(self._attributes, described_class)

    def __repr__(self) -> str:
        text = f"trigger_internal_events({', '.join(map(repr, self._names))})"
        if self._attributes is not None:
            text += f".with_({', '.join(f'{k}={v!r}' for k, v in self._attributes.items())})"
        if self._exactly is not None:
            text += f".times({self._exactly})"
        if self._low is not None:
            text += f".at_least({self._low})"
        if self._high is not None:
            text += f".at_most({self._high})"
        return text


class _Listening(SessionRun):
    def __init__(self, session: Session) -> None:
        __tracebackhide__ = True
        session.runtime()  # configure (or adopt) the runtime before the code runs
        super().__init__(session)
        self.session = session
        self.events = session.listen()

    def done(self) -> None:
        self.session.stop_listening(self.events)
        super().done()

    def finish(self) -> list[str]:
        self.done()
        return self.failures(list(self.events))

    @abstractmethod
    def failures(self, events: list[TrackedEvent]) -> list[str]:
        """The failure messages, given the events tracked in the block."""


class _TriggerRun(_Listening):
    def __init__(self, session: Session, expectation: TriggerInternalEvents, expected: dict[str, object]) -> None:
        __tracebackhide__ = True
        super().__init__(session)
        self._expectation = expectation
        self._expected = expected

    def failures(self, events: list[TrackedEvent]) -> list[str]:
        # As GitLab: every call of the event counts (``track_event(name, any_args)``), and as
        # many of them must carry the expected attributes (the Snowplow call, checked ``with``).
        e = self._expectation
        low, high = e._range
        failures = []
        for name in e._names:
            named = [event for event in events if event.name == name]
            compared = [(event, differences(self._expected, event)) for event in named]
            matching = sum(1 for _, found in compared if not found)
            if all(low <= count and (high is None or count <= high) for count in (len(named), matching)):
                continue
            others = [(number, found) for number, (_, found) in enumerate(compared, 1) if found]
            shown = self._expected if e._attributes is not None else None
            failures.append(_trigger_failure(name, low, high, shown, len(named), matching, others, events))
        return failures


def _trigger_failure(
    name: str,
    low: int,
    high: int | None,
    expected: dict[str, object] | None,
    count: int,
    matching: int,
    others: list[tuple[int, list[str]]],
    events: list[TrackedEvent],
) -> str:
    how = "not to be tracked" if high == 0 else f"to be tracked {_count_text(low, high)}"
    wanted = f"expected internal event {name!r} {how}"
    if expected is not None:
        wanted += f" with {show_fields(expected)}"
    if count == 0:
        return f"{wanted}, but it was not tracked\n  tracked in the block: {_summary(events)}"
    if not others:
        return f"{wanted}, but it was tracked {_times(count)}"
    lines = [
        f"{wanted}, but it was tracked {_times(count)}, {_times(matching)} with the expected attributes",
        f"  {name!r} tracked with other attributes {_times(len(others))}:",
    ]
    for number, found in others[:_SHOWN]:
        lines.append(f"    #{number}: " + "; ".join(found))
    if len(others) > _SHOWN:
        lines.append(f"    ... and {len(others) - _SHOWN} more")
    return "\n".join(lines)


class NotTriggerInternalEvents(Expectation):
    """Built by :func:`not_trigger_internal_events`."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__()
        self._names = names

    def in_html(self, html: object) -> None:
        """Assert that no element of ``html`` carries tracking data attributes.

        With event names, that no element tracks one of them; with none, that no element has
        any ``data-event-tracking``, ``-tracking-load``, ``-label``, ``-property``, ``-value``
        or ``-additional`` attribute.
        """
        __tracebackhide__ = True
        failure = _html.no_tracking_failure(html, self._names)
        if failure:
            raise AssertionError(failure)

    def _start(self) -> Run:
        __tracebackhide__ = True
        return _NotTriggerRun(active_session(), self._names)

    def __repr__(self) -> str:
        return f"not_trigger_internal_events({', '.join(map(repr, self._names))})"


class _NotTriggerRun(_Listening):
    def __init__(self, session: Session, names: tuple[str, ...]) -> None:
        __tracebackhide__ = True
        super().__init__(session)
        self._names = names

    def failures(self, events: list[TrackedEvent]) -> list[str]:
        if not self._names:
            if not events:
                return []
            were = "1 was" if len(events) == 1 else f"{len(events)} were"
            return [_listing(f"expected no internal events to be tracked, but {were}", events)]
        failures = []
        for name in self._names:
            named = [event for event in events if event.name == name]
            if named:
                wanted = f"expected internal event {name!r} not to be tracked, but it was tracked {_times(len(named))}"
                failures.append(_listing(wanted, named))
        return failures


# -- wording ----------------------------------------------------------------------------------


_NAMED_COUNTS = {"once": 1, "twice": 2, "thrice": 3}


def _count(value: int | str) -> int:
    """A count: an int >= 0, or RSpec's ``:once``/``:twice``/``:thrice`` as a string."""
    if isinstance(value, str) and value in _NAMED_COUNTS:
        return _NAMED_COUNTS[value]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"a count is an int >= 0 or one of 'once', 'twice', 'thrice', got {value!r}")
    return value


def _times(count: int) -> str:
    return {0: "0 times", 1: "once", 2: "twice"}.get(count, f"{count} times")


def _count_text(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {_times(low)}"
    if low == high:
        return ("exactly " if low > 2 else "") + _times(low)
    if low == 0:
        return f"at most {_times(high)}"
    return f"between {low} and {high} times"


def _summary(events: list[TrackedEvent]) -> str:
    if not events:
        return "no events"
    counts = Counter(event.name for event in events)
    return ", ".join(f"{name} ({_times(count)})" for name, count in counts.items())


def _listing(head: str, events: list[TrackedEvent]) -> str:
    lines = [f"{head}:"]
    lines.extend(f"  #{number}: {show_event(event)}" for number, event in enumerate(events[:_SHOWN], 1))
    if len(events) > _SHOWN:
        lines.append(f"  ... and {len(events) - _SHOWN} more")
    return "\n".join(lines)
