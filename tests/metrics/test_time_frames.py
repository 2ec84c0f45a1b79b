"""Which ISO weeks a time frame reads: complete weeks only, never the current one."""

from __future__ import annotations

import datetime as dt

import pytest

from otel_internal_events.metrics import iso_week, weeks_for

WEDNESDAY = dt.date(2026, 11, 25)  # week 2026-48
MONDAY = dt.date(2026, 11, 23)
SUNDAY = dt.date(2026, 11, 29)


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (dt.date(2027, 1, 1), "2026-53"),
        (dt.date(2027, 1, 3), "2026-53"),
        (dt.date(2027, 1, 4), "2027-01"),
        (dt.date(2024, 6, 12), "2024-24"),
        (dt.date(2024, 12, 30), "2025-01"),
    ],
)
def test_iso_week_is_the_iso_year_and_zero_padded_week(day: dt.date, week: str) -> None:
    assert iso_week(day) == week


@pytest.mark.parametrize("today", [MONDAY, WEDNESDAY, SUNDAY], ids=["monday", "wednesday", "sunday"])
def test_7d_is_the_last_complete_iso_week(today: dt.date) -> None:
    assert weeks_for("7d", today) == ["2026-47"]


@pytest.mark.parametrize("today", [MONDAY, WEDNESDAY, SUNDAY], ids=["monday", "wednesday", "sunday"])
def test_28d_is_the_last_four_complete_iso_weeks(today: dt.date) -> None:
    assert weeks_for("28d", today) == ["2026-44", "2026-45", "2026-46", "2026-47"]


def test_7d_on_the_monday_after_is_the_week_that_just_ended() -> None:
    assert weeks_for("7d", dt.date(2026, 11, 30)) == ["2026-48"]


def test_28d_crosses_the_iso_year_boundary() -> None:
    assert weeks_for("28d", dt.date(2027, 1, 6)) == ["2026-50", "2026-51", "2026-52", "2026-53"]


def test_all_reads_the_single_all_time_key() -> None:
    assert weeks_for("all", WEDNESDAY) == [None]


def test_an_unknown_time_frame_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown time frame '1d'"):
        weeks_for("1d", WEDNESDAY)
