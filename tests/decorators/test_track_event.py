"""``track_event``: GitLab's API helper, with and without id lookups."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.testing import not_trigger_internal_events, trigger_internal_events

from .conftest import Project, User, value

SQUASHES = "counts.count_total_squash_merges"


@pytest.fixture(autouse=True)
def no_lookup() -> Iterator[None]:
    oie.set_id_lookup()
    yield
    oie.set_id_lookup()


def test_without_a_lookup_the_ids_are_the_identifiers(configure: Any) -> None:
    configure()
    with trigger_internal_events("merge_merge_request").with_(
        user=1, project=7, namespace=70, additional_properties={"merge_strategy": "squash"}
    ):
        oie.track_event(
            "merge_merge_request",
            user=User(1),
            project_id=7,
            namespace_id=70,
            additional_properties={"merge_strategy": "squash"},
        )
    assert value(SQUASHES) == 1


def test_the_lookup_turns_ids_into_objects(configure: Any) -> None:
    configure()
    projects = {7: Project(7, namespace=99)}
    oie.set_id_lookup(project=projects.get, namespace=lambda nid: type("Group", (), {"id": nid + 1})())
    with trigger_internal_events("merge_merge_request").with_(user=1, project=7, namespace=99):
        oie.track_event("merge_merge_request", user=User(1), project_id=7)
    with trigger_internal_events("merge_merge_request").with_(user=1, project=None, namespace=41):
        oie.track_event("merge_merge_request", user=User(1), project_id=8, namespace_id=40)  # 8: none


def test_no_user_no_event(configure: Any) -> None:
    configure()
    with not_trigger_internal_events():
        oie.track_event("merge_merge_request", project_id=7, additional_properties={"merge_strategy": "squash"})
    assert value(SQUASHES) == 0


def test_send_snowplow_event_false_reaches_the_event(configure: Any) -> None:
    configure()
    # The matcher, like GitLab's, expects every event in Snowplow: it names what differs.
    with (
        pytest.raises(AssertionError, match="send_snowplow_event: expected True, tracked False"),
        trigger_internal_events("merge_merge_request").with_(user=1),
    ):
        oie.track_event("merge_merge_request", user=1, send_snowplow_event=False)
    assert value("counts.count_total_merge_merge_request") == 1


def test_a_raising_lookup_is_counted_in_production_and_the_event_kept(configure: Any, points: Any) -> None:
    configure(strict=False)
    oie.set_id_lookup(project=lambda pid: 1 / 0)
    oie.track_event("merge_merge_request", user=1, project_id=7)
    assert points("internal_events.rejected") == {(("event", "merge_merge_request"), ("reason", "lookup_error")): 1}
    assert value("counts.count_total_merge_merge_request") == 1


def test_a_raising_lookup_raises_in_strict_mode(configure: Any) -> None:
    configure()
    oie.set_id_lookup(project=lambda pid: 1 / 0)
    with pytest.raises(oie.TrackingError, match="project lookup raised ZeroDivisionError"):
        oie.track_event("merge_merge_request", user=1, project_id=7)
