"""Reading OTLP bodies: both encodings, every AnyValue kind, the place of a malformed field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otel_internal_events.service import OtlpDecodeError, WireRecord, decode_logs, decode_spans

JSON = "application/json"
PROTOBUF = "application/x-protobuf"

TRACE = "5b8efff798038103d269b633813fc60c"
ANY_VALUES_JSON = [
    {"key": "s", "value": {"stringValue": "web"}},
    {"key": "i", "value": {"intValue": "9007199254740993"}},
    {"key": "n", "value": {"intValue": 7}},
    {"key": "d", "value": {"doubleValue": 1.5}},
    {"key": "b", "value": {"boolValue": False}},
    {"key": "a", "value": {"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "2"}]}}},
    {"key": "k", "value": {"kvlistValue": {"values": [{"key": "x", "value": {"stringValue": "y"}}]}}},
    {"key": "y", "value": {"bytesValue": "AAE="}},
    {"key": "empty", "value": {}},
]
DECODED = {
    "s": "web",
    "i": 9007199254740993,
    "n": 7,
    "d": 1.5,
    "b": False,
    "a": [1, 2],
    "k": {"x": "y"},
    "y": b"\x00\x01",
}


def logs_json(**record: Any) -> bytes:
    body = {"resourceLogs": [{"scopeLogs": [{"scope": {"name": "s"}, "logRecords": [record]}]}]}
    return json.dumps(body).encode()


def test_json_records_give_every_value_kind_time_and_trace_id() -> None:
    body = logs_json(eventName="e", timeUnixNano="123", traceId=TRACE.upper(), attributes=ANY_VALUES_JSON)

    assert decode_logs(body, JSON) == [WireRecord("e", DECODED, 123, int(TRACE, 16), "s")]


def test_json_proto_field_names_and_the_observed_time_are_read_too() -> None:
    body = json.dumps(
        {"resource_logs": [{"scope_logs": [{"log_records": [{"event_name": "e", "observed_time_unix_nano": 9}]}]}]}
    ).encode()

    assert decode_logs(body, JSON) == [WireRecord("e", {}, 9, 0, "")]


def test_protobuf_records_decode_to_the_same_values_and_other_fields_are_skipped() -> None:
    request = ExportLogsServiceRequest()
    scope_logs = request.resource_logs.add().scope_logs.add()
    scope_logs.scope.name = "s"
    request.resource_logs[0].resource.attributes.add(key="service.name").value.string_value = "app"
    record = scope_logs.log_records.add(event_name="e", time_unix_nano=123, trace_id=bytes.fromhex(TRACE))
    record.body.kvlist_value.values.add(key="not", value={"string_value": "read"})
    record.severity_number, record.severity_text, record.flags, record.span_id = 9, "INFO", 1, b"\x01" * 8
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue

    for pair in ANY_VALUES_JSON:
        record.attributes.append(ParseDict(pair, KeyValue()))

    assert decode_logs(request.SerializeToString(), PROTOBUF) == [WireRecord("e", DECODED, 123, int(TRACE, 16), "s")]


def test_span_events_take_the_spans_trace_id_and_its_start_when_they_have_no_time() -> None:
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": TRACE,
                                "startTimeUnixNano": "50",
                                "events": [{"name": "e", "attributes": [ANY_VALUES_JSON[0]]}],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    expected = [WireRecord("e", {"s": "web"}, 50, int(TRACE, 16), "")]

    assert decode_spans(json.dumps(body).encode(), JSON) == expected
    from google.protobuf.json_format import ParseDict

    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = (
        "W47/95gDgQPSabYzgT/GDA=="  # base64 in proto JSON
    )
    proto = ParseDict(body, ExportTraceServiceRequest()).SerializeToString()
    assert decode_spans(proto, PROTOBUF) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "the body must be a JSON object"),
        (logs_json(timeUnixNano="-1"), "logRecords[0].timeUnixNano: expected an unsigned integer"),
        (logs_json(traceId="xyz"), "logRecords[0].traceId: expected 32 hex digits"),
        (logs_json(attributes=[{"key": 5}]), "attributes[0].key: expected a string"),
        (
            logs_json(attributes=[{"key": "a", "value": {"boolValue": "yes"}}]),
            "value.boolValue: 'yes' is not a valid bool",
        ),
        (logs_json(eventName=5), "logRecords[0].eventName: expected a string"),
    ],
)
def test_malformed_json_names_the_field(body: bytes, message: str) -> None:
    with pytest.raises(OtlpDecodeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode_logs(body, JSON)
