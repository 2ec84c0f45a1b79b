"""Redis key formats, time frames, metric values and the Service-Ping-style report."""

from ._keys import (
    NS_PER_DAY,
    WEEKLY_KEY_TTL_SECONDS,
    RedisKeys,
    iso_week,
    iso_week_of_day,
    iso_week_of_ns,
    render_value,
)
from ._report import build_report, nest
from ._timeframes import weeks_for
from ._values import MetricValue, RedisClient, RedisMetricValues

__all__ = [
    "NS_PER_DAY",
    "WEEKLY_KEY_TTL_SECONDS",
    "MetricValue",
    "RedisClient",
    "RedisKeys",
    "RedisMetricValues",
    "build_report",
    "iso_week",
    "iso_week_of_day",
    "iso_week_of_ns",
    "nest",
    "render_value",
    "weeks_for",
]
