"""``user``, ``project`` and ``namespace``: plain ids, objects with ``.id``, a project's namespace."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.conventions import NAMESPACE_ID, PROJECT_ID, USER_ID


def _attributes(logs: Any) -> dict[str, Any]:
    assert oie.flush()
    (record,) = logs.get_finished_logs()
    return dict(record.log_record.attributes)


def _ids(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: attributes[k] for k in (USER_ID, PROJECT_ID, NAMESPACE_ID) if k in attributes}


@pytest.mark.parametrize("user", [42, SimpleNamespace(id=42)], ids=["plain-id", "object"])
def test_user_accepts_a_plain_id_or_an_object_with_id(configure: Any, capture_logs: Any, user: Any) -> None:
    logs = capture_logs(configure())
    oie.track_internal_event("connect_editor_extension", user=user)
    assert _ids(_attributes(logs)) == {USER_ID: 42}


@pytest.mark.parametrize("project", [7, SimpleNamespace(id=7)], ids=["plain-id", "object"])
def test_project_accepts_a_plain_id_or_an_object_with_id(configure: Any, capture_logs: Any, project: Any) -> None:
    logs = capture_logs(configure())
    oie.track_internal_event("create_pipeline", project=project)
    assert _ids(_attributes(logs)) == {PROJECT_ID: 7}


@pytest.mark.parametrize("namespace", [9, SimpleNamespace(id=9)], ids=["plain-id", "object"])
def test_namespace_accepts_a_plain_id_or_an_object_with_id(configure: Any, capture_logs: Any, namespace: Any) -> None:
    logs = capture_logs(configure())
    oie.track_internal_event("register_runner", namespace=namespace)
    assert _ids(_attributes(logs)) == {NAMESPACE_ID: 9}


@pytest.mark.parametrize("namespace", [SimpleNamespace(id=9), 9], ids=["object", "plain-id"])
def test_project_namespace_gives_the_namespace_when_none_is_given(
    configure: Any, capture_logs: Any, namespace: Any
) -> None:
    logs = capture_logs(configure())
    oie.track_internal_event("create_pipeline", project=SimpleNamespace(id=7, namespace=namespace))
    assert _ids(_attributes(logs)) == {PROJECT_ID: 7, NAMESPACE_ID: 9}


def test_project_namespace_id_is_read_before_a_lazy_namespace_relation(configure: Any, capture_logs: Any) -> None:
    class Project:
        id = 7
        namespace_id = 9

        @property
        def namespace(self) -> Any:
            raise AssertionError("a lazy relation (a database query) was read")

    logs = capture_logs(configure())
    oie.track_internal_event("create_pipeline", project=Project())
    assert _ids(_attributes(logs)) == {PROJECT_ID: 7, NAMESPACE_ID: 9}


def test_an_explicit_namespace_wins_over_the_project_namespace(configure: Any, capture_logs: Any) -> None:
    logs = capture_logs(configure())
    project = SimpleNamespace(id=7, namespace=SimpleNamespace(id=9))
    oie.track_internal_event("create_pipeline", project=project, namespace=11)
    assert _ids(_attributes(logs)) == {PROJECT_ID: 7, NAMESPACE_ID: 11}


def test_project_namespace_counts_for_a_unique_namespace_metric(
    configure: Any, redis_client: Any, key_prefix: str
) -> None:
    configure()
    project = SimpleNamespace(id=7, namespace=SimpleNamespace(id=9))
    oie.track_internal_event("register_runner", project=project)
    assert oie.flush()
    key = f"{key_prefix}{{hll_counters}}_register_runner-namespace-2026-48"
    assert redis_client.pfcount(key) == 1
    assert redis_client.pfadd(key, "9") == 0  # 9 is already in the set
