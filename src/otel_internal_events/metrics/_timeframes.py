"""Which weekly keys a time frame reads (reference §3.2): complete ISO weeks only."""

from __future__ import annotations

import datetime as dt

from ._keys import iso_week

__all__ = ["weeks_for"]

_WEEKS = {"7d": 1, "28d": 4}


def weeks_for(time_frame: str, today: dt.date) -> list[str | None]:
    """The ISO weeks a metric reads as of ``today``.

    ``7d`` is the last complete ISO week, ``28d`` the last four; the current, partial week is
    always left out. ``all`` reads the single all-time key, shown as ``[None]``.
    """
    if time_frame == "all":
        return [None]
    count = _WEEKS.get(time_frame)
    if count is None:
        raise ValueError(f"unknown time frame {time_frame!r}")
    this_monday = today - dt.timedelta(days=today.weekday())
    return [iso_week(this_monday - dt.timedelta(weeks=n)) for n in range(count, 0, -1)]
