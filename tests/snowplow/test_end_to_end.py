"""track_internal_event -> OTel -> exporter -> snowplow-tracker -> HTTP -> the micro collector.

Most tests send through the module's runtime (``shared_micro``), which starts one Snowplow
export process for them all; those that need settings of their own configure a runtime
(``configure_snowplow``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import otel_internal_events as oie
from otel_internal_events.iglu import GITLAB_SERVICE_PING_SCHEMA, GITLAB_STANDARD_SCHEMA, load_schema
from otel_internal_events.service import IgluRegistry

from ._helpers import NOW, Micro, decoded_contexts


class Project:
    def __init__(self, pid: int, namespace: int) -> None:
        self.id = pid
        self.namespace = namespace


class MergeRequestService(oie.InternalEventsTracking):
    def open(self) -> None:
        self.track_internal_event(
            "create_merge_request", user=7, project=Project(3, 30), additional_properties={"label": "web"}
        )


def contexts_by_schema(event: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["schema"]: c["data"] for c in event["event"]["contexts"]["data"]}


def tracked_good(micro: Micro, count: int = 1) -> list[dict[str, Any]]:
    assert oie.flush(10_000)
    good = micro.good()
    assert micro.bad() == []
    assert len(good) == count
    return good


def test_structured_event_carries_category_action_label_property_value(shared_micro: Micro) -> None:
    oie.track_internal_event(
        "submit_merge_request_review",
        user=7,
        project=Project(3, 30),
        additional_properties={"label": "approved", "value": 4},
    )

    (good,) = tracked_good(shared_micro)
    event = good["event"]
    assert good["eventType"] == "struct"
    assert event["se_category"] == "InternalEventTracking"
    assert event["se_action"] == "submit_merge_request_review"
    assert event["se_label"] == "approved"
    assert event["se_value"] == 4.0
    assert "se_property" not in event
    assert event["true_tstamp"] == "2026-11-25T12:00:00.000Z"  # the event's own time, not the send time
    assert event["platform"] == "srv"
    assert event["name_tracker"] == "gl"
    assert event["v_tracker"].startswith("py-")
    assert good["rawEvent"]["parameters"]["ttm"] == str(int(NOW.timestamp() * 1000))


def test_property_goes_to_se_pr(shared_micro: Micro) -> None:
    oie.track_internal_event(
        "create_merge_request", user=7, project=Project(3, 30), additional_properties={"property": "draft"}
    )

    (good,) = tracked_good(shared_micro)
    assert good["event"]["se_property"] == "draft"


def test_category_is_the_tracking_class_name_or_the_given_one(shared_micro: Micro) -> None:
    MergeRequestService().open()
    oie.InternalEvents.track_event(
        "create_merge_request", category="Api::MergeRequests", user=7, project=3, namespace=30
    )

    categories = {e["event"]["se_category"] for e in tracked_good(shared_micro, 2)}
    assert categories == {"MergeRequestService", "Api::MergeRequests"}


def test_both_contexts_are_sent_and_valid_against_the_shipped_schemas(shared_micro: Micro) -> None:
    oie.track_internal_event(
        "create_merge_request",
        user=7,
        project=Project(3, 30),
        feature_enabled_by_namespace_ids=[30, 31],
        additional_properties={"label": "web"},
    )

    (good,) = tracked_good(shared_micro)
    assert good["contexts"] == [GITLAB_STANDARD_SCHEMA, GITLAB_SERVICE_PING_SCHEMA]
    contexts = contexts_by_schema(good)
    standard = contexts[GITLAB_STANDARD_SCHEMA]
    assert standard["environment"] == "production"
    assert standard["project_id"] == 3
    assert standard["namespace_id"] == 30
    assert standard["feature_enabled_by_namespace_ids"] == [30, 31]
    assert standard["extra"] == {}
    assert contexts[GITLAB_SERVICE_PING_SCHEMA] == {"data_source": "redis_hll", "event_name": "create_merge_request"}
    # Checked again here, independently of the collector: the shipped schemas accept both.
    registry = IgluRegistry()
    assert registry.validate(GITLAB_STANDARD_SCHEMA, standard) == []
    assert registry.validate(GITLAB_SERVICE_PING_SCHEMA, contexts[GITLAB_SERVICE_PING_SCHEMA]) == []
    assert set(standard) <= set(load_schema(GITLAB_STANDARD_SCHEMA)["properties"])


def test_custom_properties_go_to_extra(shared_micro: Micro) -> None:
    oie.track_internal_event(
        "run_ci_job",
        user=7,
        project=Project(3, 30),
        additional_properties={"label": "success", "runner_type": "group", "duration_s": 12.5},
    )

    (good,) = tracked_good(shared_micro)
    standard = contexts_by_schema(good)[GITLAB_STANDARD_SCHEMA]
    assert standard["extra"] == {"runner_type": "group", "duration_s": 12.5}
    assert good["event"]["se_label"] == "success"


def test_send_snowplow_event_false_sends_nothing_but_still_counts_in_redis(
    shared_runtime: oie.Runtime, shared_micro: Micro
) -> None:
    runtime = shared_runtime
    exported = runtime.processors["redis"].stats["exported"]  # by the module's earlier tests

    oie.track_internal_event("create_merge_request", user=7, project=Project(3, 30), send_snowplow_event=False)
    oie.track_internal_event("create_merge_request", user=8, project=Project(3, 30))

    assert oie.flush(10_000)
    assert [e["event"]["se_action"] for e in shared_micro.good()] == ["create_merge_request"]
    assert shared_micro.all() == {"total": 1, "good": 1, "bad": 0}
    assert runtime.processors["redis"].stats["exported"] == exported + 2
    assert (
        runtime.redis.pfcount(
            *runtime.redis.keys(f"{runtime.settings.key_prefix}{{hll_counters}}_create_merge_request-user-*")
        )
        == 2
    )


def test_correlation_id_is_the_trace_id_of_the_tracking_call(shared_micro: Micro) -> None:
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("request") as span:
        oie.track_internal_event("create_merge_request", user=7, project=Project(3, 30))
        trace_id = span.get_span_context().trace_id
    oie.track_internal_event("create_merge_request", user=7, project=Project(3, 30))

    first, second = tracked_good(shared_micro, 2)
    assert contexts_by_schema(first)[GITLAB_STANDARD_SCHEMA]["correlation_id"] == trace.format_trace_id(trace_id)
    assert contexts_by_schema(second)[GITLAB_STANDARD_SCHEMA]["correlation_id"] is None


def test_contexts_can_be_sent_as_plain_json(configure_snowplow: Callable[..., Any], snowplow_micro: Micro) -> None:
    configure_snowplow(snowplow_encode_base64=False)

    oie.track_internal_event("create_merge_request", user=7, project=Project(3, 30))

    (good,) = tracked_good(snowplow_micro)
    parameters = good["rawEvent"]["parameters"]
    assert "cx" not in parameters
    assert decoded_contexts(parameters)["data"][0]["schema"] == GITLAB_STANDARD_SCHEMA


def test_standard_context_schema_is_configurable(configure_snowplow: Callable[..., Any], snowplow_micro: Micro) -> None:
    custom = "iglu:com.example/standard/jsonschema/1-0-0"
    configure_snowplow(snowplow_standard_schema=custom, snowplow_app_id="shop", snowplow_environment="staging")

    oie.track_internal_event("create_merge_request", user=7, project=Project(3, 30))

    assert oie.flush(10_000)
    (bad,) = snowplow_micro.bad()  # the micro collector knows no such schema
    assert any("iglu:com.example/standard/jsonschema/1-0-0: schema not found" in e for e in bad["errors"])
    parameters = bad["rawEvent"]["parameters"]
    assert parameters["aid"] == "shop"
    standard = decoded_contexts(parameters)["data"][0]
    assert standard["schema"] == custom
    assert standard["data"]["environment"] == "staging"


def test_many_events_arrive_batched(shared_micro: Micro) -> None:
    with oie.with_batched_redis_writes():
        for user in range(35):
            oie.track_internal_event("create_merge_request", user=user, project=Project(3, 30))

    assert oie.flush(10_000)
    assert shared_micro.all() == {"total": 35, "good": 35, "bad": 0}
    posts = [r for r in shared_micro.requests if r[0] == "POST"]
    assert len(posts) == 4  # 10 + 10 + 10 + 5 (SHARED_BATCH_SIZE a request), one export
    assert len({e["event"]["event_id"] for e in shared_micro.good()}) == 35
