"""GitLab's older unique metrics (``data_source: redis_hll`` listing their events) are computed:
PFCOUNT of the union of their events' HLL keys over the time frame's weeks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

import otel_internal_events as oie
from otel_internal_events.definitions import load_definitions

TODAY = dt.date(2026, 11, 25)  # Wednesday of ISO week 2026-48, the clock fixture's day
WEEK = {43: dt.date(2026, 10, 21), 44: dt.date(2026, 10, 28), 47: dt.date(2026, 11, 18), 48: TODAY}
METRIC = {
    "key_path": "redis_hll_counters.user_packages.user_packages_total_unique_counts_monthly",
    "description": "Distinct users of the package registry",
    "value_type": "number",
    "status": "active",
    "time_frame": "28d",
    "data_source": "redis_hll",
    "instrumentation_class": "RedisHLLMetric",
}


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("pull_package", "push_package"):
        write(
            tmp_path / "events" / f"{name}.yml",
            {"description": name, "internal_events": True, "action": name, "identifiers": ["user", "project"]},
        )
    return tmp_path


@pytest.fixture
def track_in(configure: Any, clock: Any) -> Any:
    def track(week: int, event: str, user: int) -> None:
        clock.set(dt.datetime.combine(WEEK[week], dt.time(12), tzinfo=dt.UTC))
        oie.track_internal_event(event, user=user, project=1)

    yield track
    clock.set(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))


def tracked(configure: Any, track_in: Any, tree: Path, metric: dict[str, Any]) -> int | float:
    write(tree / "metrics" / "counts_28d" / "user_packages.yml", metric)
    configure(definitions=(str(tree),))
    track_in(43, "pull_package", user=1)  # before the 28d window
    track_in(44, "pull_package", user=2)
    track_in(47, "push_package", user=2)
    track_in(47, "push_package", user=3)
    track_in(48, "pull_package", user=4)  # the current week
    assert oie.flush()
    return oie.metric_value(METRIC["key_path"], at=TODAY)


def test_events_list_is_the_union_of_their_hll_keys(configure: Any, track_in: Any, tree: Path) -> None:
    events = [{"name": "pull_package", "unique": "user.id"}, {"name": "push_package", "unique": "user.id"}]

    assert tracked(configure, track_in, tree, {**METRIC, "events": events}) == 2


def test_options_events_count_unique_users(configure: Any, track_in: Any, tree: Path) -> None:
    metric = {**METRIC, "options": {"events": ["pull_package", "push_package"]}}

    assert tracked(configure, track_in, tree, metric) == 2


def test_a_redis_hll_metric_makes_its_identifier_required(tree: Path) -> None:
    write(tree / "metrics" / "counts_28d" / "m.yml", {**METRIC, "options": {"events": ["pull_package"]}})

    registry = load_definitions(tree)

    assert registry.unique_identifiers("pull_package") == {"user"}
    assert registry.metric(METRIC["key_path"]).kind == "unique"
