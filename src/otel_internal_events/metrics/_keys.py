"""Redis key formats, GitLab-compatible (reference §2.1), and ISO weeks.

``{event_counters}_<event>[-filter:[k:v,...]][-<ISO week>]``           total counters
``{event_sums}_<event>-operator:sum(value)[-filter:[...]][-<ISO week>]`` sums of ``value``
``{hll_counters}_<event>[-filter:[...]]-<identifier>-<ISO week>``       HyperLogLog uniques

The hash tag (``{...}``) keeps the keys a PFCOUNT or MGET reads together in one Redis Cluster
slot. An optional prefix goes in front, outside the hash tag.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from ..definitions import EventRule

__all__ = [
    "NS_PER_DAY",
    "WEEKLY_KEY_TTL_SECONDS",
    "RedisKeys",
    "iso_week",
    "iso_week_of_day",
    "iso_week_of_ns",
    "render_value",
]

#: Weekly keys expire 6 weeks after they are written (HLL: after the last write).
WEEKLY_KEY_TTL_SECONDS = 6 * 7 * 24 * 3600

_SLOTS = {"total": "event_counters", "sum": "event_sums", "unique": "hll_counters"}
#: Nanoseconds in a day: ``timestamp_ns // NS_PER_DAY`` is the UTC day number.
NS_PER_DAY = 86_400 * 10**9


def render_value(value: object) -> str:
    """A property value as GitLab writes it into a key: Ruby's ``to_s``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def iso_week(day: dt.date) -> str:
    """``strftime('%G-%V')``: ISO week-based year and zero-padded week, e.g. ``2027-01``."""
    year, week, _ = day.isocalendar()
    return f"{year}-{week:02d}"


@lru_cache(maxsize=4096)
def iso_week_of_day(day_number: int) -> str:
    """The ISO week of UTC day ``day_number`` (days since 1970-01-01)."""
    return iso_week(dt.date(1970, 1, 1) + dt.timedelta(days=day_number))


def iso_week_of_ns(timestamp_ns: int) -> str:
    """The ISO week (UTC) of a timestamp in nanoseconds since the epoch."""
    return iso_week_of_day(timestamp_ns // NS_PER_DAY)


class RedisKeys:
    """Builds the keys of event rules, with an optional prefix."""

    __slots__ = ("_bases", "prefix")

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self._bases: dict[EventRule, str] = {}

    def base(self, rule: EventRule) -> str:
        """The key of ``rule`` without the week suffix (the whole key when not time-framed)."""
        cached = self._bases.get(rule)
        if cached is not None:
            return cached
        path = rule.event
        if rule.operator:
            path += f"-operator:{rule.operator}"
        if rule.filter:
            path += "-filter:[" + ",".join(f"{k}:{render_value(v)}" for k, v in rule.filter) + "]"
        if rule.unique:
            path += f"-{rule.unique}"
        key = f"{self.prefix}{{{_SLOTS[rule.kind]}}}_{path}"
        self._bases[rule] = key
        return key

    def key(self, rule: EventRule, week: str | None) -> str:
        """The key of ``rule`` for ``week`` (``None`` or ignored when the rule is not time-framed)."""
        base = self.base(rule)
        return f"{base}-{week}" if rule.time_framed and week else base
