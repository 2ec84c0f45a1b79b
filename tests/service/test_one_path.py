"""One event through each source (in-process, OTLP, events API): the same Redis keys, the same Snowplow event."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord

import otel_internal_events as oie
from otel_internal_events.conventions import EVENT_NAME
from otel_internal_events.exporters import CheckedLogRecord
from otel_internal_events.service import SnowplowMicroServer

from .conftest import RunningGateway, redis_values

SECRET = "one-path-secret"

#: Fields that differ between two sendings of one event: its id and the device and sent times.
_PER_SENDING = {"eid", "dtm", "stm"}


class Project:
    id = 3
    namespace_id = 1003


@pytest.fixture(scope="module")
def micro() -> Iterator[SnowplowMicroServer]:
    with SnowplowMicroServer(port=0) as running:
        yield running


@pytest.fixture(scope="module")
def snowplow_gateway(make_gateway: Callable[..., RunningGateway], micro: SnowplowMicroServer) -> RunningGateway:
    return make_gateway(
        snowplow_endpoint=micro.url, pseudonymization_secret=SECRET, schedule_delay_millis=20, strict=True
    )


def sent_to_snowplow(micro: SnowplowMicroServer) -> dict[str, Any]:
    """The one event the micro collector took since its reset, without what differs per sending.

    Called after a flush: the Snowplow exporter returns once the collector has answered."""
    collector = micro.collector
    assert collector.counts() == {"total": 1, "good": 1, "bad": 0}
    parameters = dict(collector.good()[0]["rawEvent"]["parameters"])
    cx = parameters.pop("cx")
    contexts = json.loads(base64.urlsafe_b64decode(cx + "=" * (-len(cx) % 4)))
    for context in contexts["data"]:
        context["data"].pop("context_generated_at", None)
    collector.reset()
    return {"parameters": {k: v for k, v in parameters.items() if k not in _PER_SENDING}, "contexts": contexts}


def test_one_event_gives_the_same_counters_and_snowplow_event_from_every_source(
    snowplow_gateway: RunningGateway,
    configure: Callable[..., Any],
    redis_client: redis.Redis,
    key_prefix: str,
    micro: SnowplowMicroServer,
) -> None:
    gateway = snowplow_gateway
    micro.collector.reset()
    properties = {"label": "web", "value": 12, "merge_strategy": "squash"}

    runtime = configure(exporters=("redis", "snowplow"), snowplow_endpoint=micro.url, pseudonymization_secret=SECRET)
    oie.track_internal_event("merge_merge_request", user=42, project=Project(), additional_properties=properties)
    assert runtime.flush()
    in_process = redis_values(redis_client, key_prefix), sent_to_snowplow(micro)

    configure(exporters=("otlp",), otlp_endpoint=f"{gateway.url}/v1/logs")
    oie.track_internal_event("merge_merge_request", user=42, project=Project(), additional_properties=properties)
    assert oie.flush()
    assert gateway.gateway.runtime.flush()
    over_otlp = gateway.keys(), sent_to_snowplow(micro)
    gateway.clear()

    response = gateway.post_api(
        "track_event",
        {
            "event": "merge_merge_request",
            "project_id": 3,
            "namespace_id": 1003,
            "additional_properties": properties,
            "send_to_snowplow": True,
        },
    )
    assert response.json() == {"accepted": 1, "rejected": 0, "problems": []}
    assert gateway.gateway.runtime.flush()
    over_api = gateway.keys(), sent_to_snowplow(micro)

    keys, event = in_process
    assert len(keys) > 5 and keys["{event_sums}_merge_merge_request-operator:sum(value)-2026-48"] == 12
    assert event["parameters"]["se_ac"] == "merge_merge_request"
    assert over_otlp == in_process
    assert over_api == in_process


def test_with_the_otlp_exporter_the_sdks_own_logger_builds_the_records(
    configure: Callable[..., oie.Runtime], gateway: RunningGateway
) -> None:
    """Records that leave the process as OpenTelemetry log records are built the SDK's way (the
    other exporters take the direct logger's: tests/exporters/test_handoff.py)."""
    records: list[ReadWriteLogRecord] = []

    class Keep(LogRecordProcessor):
        def on_emit(self, log_record: ReadWriteLogRecord) -> None:
            records.append(log_record)

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return True

    runtime = configure(exporters=("otlp",), otlp_endpoint=f"{gateway.url}/v1/logs")
    runtime.logger_provider.add_log_record_processor(Keep())
    oie.track_internal_event("merge_merge_request", user=42, project=Project(), additional_properties={"label": "web"})
    assert runtime.flush()
    gateway.clear()

    (record,) = records
    assert not isinstance(record, CheckedLogRecord)
    assert isinstance(record.log_record.attributes, BoundedAttributes)
    assert record.log_record.attributes[EVENT_NAME] == "merge_merge_request"
