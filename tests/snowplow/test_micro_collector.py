"""The micro collector's core: decoding the tracker protocol, validating, keeping good and bad events."""

from __future__ import annotations

import base64
import datetime as dt
import json
import tracemalloc
import uuid
from typing import Any

import pytest

from otel_internal_events.iglu import GITLAB_SERVICE_PING_SCHEMA, GITLAB_STANDARD_SCHEMA
from otel_internal_events.service import MicroCollector

CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
PAYLOAD_DATA = "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4"
STANDARD = {"schema": GITLAB_STANDARD_SCHEMA, "data": {"environment": "production", "extra": {"k": "v"}}}
PING = {"schema": GITLAB_SERVICE_PING_SCHEMA, "data": {"data_source": "redis_hll", "event_name": "open"}}
EID = "d9800e59-af5b-481a-b6b7-2393759decbb"


def event(**fields: str) -> dict[str, str]:
    base = {"e": "se", "se_ca": "InternalEventTracking", "se_ac": "open", "tv": "py-1.1.0", "p": "srv", "eid": EID}
    base.update(fields)
    return base


def envelope(*contexts: dict[str, Any]) -> str:
    return json.dumps({"schema": CONTEXTS, "data": list(contexts)})


def cx(text: str, *, urlsafe: bool = True, padded: bool = True) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.standard_b64encode
    value = encode(text.encode()).decode()
    return value if padded else value.rstrip("=")


def post(collector: MicroCollector, *events: object) -> int:
    body = json.dumps({"schema": PAYLOAD_DATA, "data": list(events)}).encode()
    return collector.collect_post(body).status


@pytest.fixture
def collector() -> MicroCollector:
    return MicroCollector()


# A document whose base64 has padding and, in the URL-safe alphabet, '-' and '_'.
AWKWARD = envelope(STANDARD | {"data": {"environment": "production", "extra": {"k": "??>>~~~"}}}, PING)


@pytest.mark.parametrize("urlsafe", [True, False])
@pytest.mark.parametrize("padded", [True, False])
def test_base64_contexts_decode_in_either_alphabet_padded_or_not(
    collector: MicroCollector, urlsafe: bool, padded: bool
) -> None:
    assert post(collector, event(cx=cx(AWKWARD, urlsafe=urlsafe, padded=padded))) == 200

    (good,) = collector.good()
    assert good["contexts"] == [GITLAB_STANDARD_SCHEMA, GITLAB_SERVICE_PING_SCHEMA]
    assert good["event"]["contexts"]["data"][0]["data"]["extra"] == {"k": "??>>~~~"}


def test_plain_json_contexts_decode(collector: MicroCollector) -> None:
    post(collector, event(co=envelope(STANDARD, PING)))

    (good,) = collector.good()
    assert [c["schema"] for c in good["event"]["contexts"]["data"]] == [
        GITLAB_STANDARD_SCHEMA,
        GITLAB_SERVICE_PING_SCHEMA,
    ]


def test_a_good_structured_event_has_the_event_fields(collector: MicroCollector) -> None:
    post(collector, event(se_la="web", se_pr="draft", se_va="2.5", aid="app", tna="gl", dtm="1795828269094"))

    (good,) = collector.good()
    assert good["eventType"] == "struct"
    assert good["schema"] == "iglu:com.google.analytics/event/jsonschema/1-0-0"
    fields = good["event"]
    assert (fields["se_category"], fields["se_action"], fields["se_label"], fields["se_property"]) == (
        "InternalEventTracking",
        "open",
        "web",
        "draft",
    )
    assert fields["se_value"] == 2.5
    assert fields["event_id"] == EID
    assert fields["app_id"] == "app"
    assert fields["dvce_created_tstamp"] == "2026-11-28T01:11:09.094Z"
    assert good["rawEvent"]["parameters"]["se_la"] == "web"


def test_a_good_event_has_its_times_in_iso_8601() -> None:
    collector = MicroCollector(clock=lambda: dt.datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=dt.UTC))

    post(collector, event(dtm="1795828269094", ttm="1795828260000", stm="100000000000000"))  # stm: 15 digits

    (good,) = collector.good()
    fields = good["event"]
    assert fields["collector_tstamp"] == "2026-11-25T12:00:00.123Z"
    assert fields["dvce_created_tstamp"] == "2026-11-28T01:11:09.094Z"
    assert fields["dvce_sent_tstamp"] == "5138-11-16T09:46:40.000Z"
    assert fields["true_tstamp"] == fields["derived_tstamp"] == "2026-11-28T01:11:00.000Z"


def test_an_event_without_an_id_gets_one_that_stays(collector: MicroCollector) -> None:
    raw = event()
    del raw["eid"]

    post(collector, raw)

    (first,) = collector.good()
    (again,) = collector.good()
    assert uuid.UUID(first["event"]["event_id"])
    assert again["event"]["event_id"] == first["event"]["event_id"]
    assert "eid" not in first["rawEvent"]["parameters"]


@pytest.mark.parametrize("eid", [EID.upper(), EID.replace("-", ""), "{" + EID + "}", "urn:uuid:" + EID])
def test_an_event_id_in_any_form_a_uuid_takes_is_good(collector: MicroCollector, eid: str) -> None:
    post(collector, event(eid=eid))

    (good,) = collector.good()
    assert good["event"]["event_id"] == eid


def test_a_get_event_is_read_from_the_query_string(collector: MicroCollector) -> None:
    query = f"e=se&se_ca=c&se_ac=a&tv=py-1.1.0&cx={cx(envelope(STANDARD), padded=False)}"

    response = collector.collect_get(query)

    assert response.status == 200
    assert response.content_type == "image/gif"
    assert collector.counts() == {"total": 1, "good": 1, "bad": 0}


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"se_ac": ""}, "se_ac: required for e=se"),
        ({"e": "zz"}, "e: unknown event type 'zz'"),
        ({"tv": ""}, "tv: the tracker version is required"),
        ({"eid": "not-a-uuid"}, "eid: not a UUID"),
        ({"dtm": "yesterday"}, "dtm: not a timestamp in milliseconds"),
        ({"ttm": "9" * 20}, "ttm: not a timestamp in milliseconds"),  # past the year 9999
        ({"stm": "١٢٣"}, "stm: not a timestamp in milliseconds"),  # digits, but not ASCII ones
        ({"se_va": "lots"}, "se_va: not a number"),
        ({"p": "toaster"}, "p: unknown platform"),
        ({"cx": "!!!not base64!!!"}, "cx: not base64-encoded UTF-8"),
        ({"cx": "é"}, "cx: not base64-encoded UTF-8: string argument should contain only ASCII characters"),
        ({"co": "{not json"}, "co: malformed JSON"),
        ({"co": json.dumps({"schema": "iglu:com.example/other/jsonschema/1-0-0", "data": []})}, "not a contexts"),
        ({"co": envelope({"schema": GITLAB_STANDARD_SCHEMA, "data": {}})}, "'environment' is a required property"),
        ({"co": envelope({"schema": "iglu:com.example/x/jsonschema/1-0-0", "data": {}})}, "schema not found"),
        ({"co": json.dumps({"schema": CONTEXTS, "data": [{"data": {}}]})}, "'schema' is a required property"),
    ],
)
def test_an_invalid_event_is_kept_as_bad_with_the_reason(
    collector: MicroCollector, fields: dict[str, str], error: str
) -> None:
    raw = event(**fields)

    assert post(collector, raw) == 200

    assert collector.counts() == {"total": 1, "good": 0, "bad": 1}
    (bad,) = collector.bad()
    assert any(error in message for message in bad["errors"]), bad["errors"]
    assert bad["rawEvent"]["parameters"] == raw


def test_good_and_bad_events_of_one_batch_are_told_apart(collector: MicroCollector) -> None:
    post(collector, event(co=envelope(STANDARD)), event(se_ca=""), event(co=envelope(PING)))

    assert collector.counts() == {"total": 3, "good": 2, "bad": 1}


def test_a_self_describing_event_is_validated_too(collector: MicroCollector) -> None:
    ue = json.dumps({"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0", "data": PING})
    wrong = json.dumps(
        {
            "schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
            "data": {"schema": GITLAB_SERVICE_PING_SCHEMA, "data": {}},
        }
    )

    post(collector, {"e": "ue", "tv": "js-3", "ue_px": cx(ue)}, {"e": "ue", "tv": "js-3", "ue_pr": wrong})

    (good,) = collector.good()
    assert good["schema"] == GITLAB_SERVICE_PING_SCHEMA
    assert good["eventType"] == "unstruct"
    (bad,) = collector.bad()
    assert any("'data_source' is a required property" in e for e in bad["errors"])


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a self-describing JSON"),
        (json.dumps({"schema": CONTEXTS, "data": []}).encode(), "not payload_data"),
        (json.dumps({"schema": PAYLOAD_DATA, "data": "x"}).encode(), "is not of type 'array'"),
        (json.dumps({"schema": PAYLOAD_DATA, "data": [1]}).encode(), "is not of type 'object'"),
    ],
)
def test_an_unreadable_request_is_answered_400_and_kept_as_one_bad_event(
    collector: MicroCollector, body: bytes, error: str
) -> None:
    response = collector.collect_post(body)

    assert response.status == 400
    assert error in json.loads(response.body)["error"]
    (bad,) = collector.bad()
    assert any(error in message for message in bad["errors"])
    assert bad["collectorPayload"]["body"] == body.decode("utf-8", "replace")


def test_a_body_over_the_limit_is_answered_413() -> None:
    collector = MicroCollector(max_body_bytes=10)

    assert collector.collect_post(b"x" * 11).status == 413
    assert collector.counts()["total"] == 0


def test_reset_forgets_everything(collector: MicroCollector) -> None:
    post(collector, event(), event(se_ac=""))

    assert collector.reset() == {"total": 0, "good": 0, "bad": 0}
    assert collector.good() == collector.bad() == []


def test_good_events_filter_as_snowplow_micro_does(collector: MicroCollector) -> None:
    post(collector, event(co=envelope(STANDARD)), event(co=envelope(STANDARD, PING)), event())

    assert len(collector.good({"event_type": "struct"})) == 3
    assert len(collector.good({"contexts": [GITLAB_STANDARD_SCHEMA]})) == 2
    assert len(collector.good({"contexts": [GITLAB_STANDARD_SCHEMA, GITLAB_SERVICE_PING_SCHEMA]})) == 1
    assert len(collector.good({"schema": "iglu:com.example/x/jsonschema/1-0-0"})) == 0
    assert collector.good({"limit": 1})[0]["contexts"] == []  # the newest


def test_the_lists_keep_the_newest_events_and_count_the_dropped_ones() -> None:
    collector = MicroCollector(max_events=3)

    post(collector, *[event(se_la=str(number)) for number in range(5)])
    post(collector, *[event(se_ac="", se_la=str(number)) for number in range(4)])

    assert collector.counts() == {"total": 9, "good": 5, "bad": 4, "dropped": 3}
    assert [good["event"]["se_label"] for good in collector.good()] == ["2", "3", "4"]
    assert [bad["rawEvent"]["parameters"]["se_la"] for bad in collector.bad()] == ["1", "2", "3"]


def test_the_counts_say_nothing_of_drops_until_there_are_some() -> None:
    collector = MicroCollector(max_events=2)

    post(collector, event(), event())

    assert collector.counts() == {"total": 2, "good": 2, "bad": 0}
    assert json.loads(collector.handle("GET", "/micro/all").body) == {"total": 2, "good": 2, "bad": 0}


def test_micro_all_reports_the_dropped_events_and_reset_forgets_them() -> None:
    collector = MicroCollector(max_events=1)
    post(collector, event(), event(), event(se_ac=""))

    assert json.loads(collector.handle("GET", "/micro/all").body) == {"total": 3, "good": 2, "bad": 1, "dropped": 1}
    assert json.loads(collector.handle("GET", "/micro/reset").body) == {"total": 0, "good": 0, "bad": 0}


def test_a_bound_of_zero_keeps_nothing_but_counts_everything() -> None:
    collector = MicroCollector(max_events=0)

    post(collector, event(), event(se_ac=""))

    assert collector.counts() == {"total": 2, "good": 1, "bad": 1, "dropped": 2}
    assert collector.good() == collector.bad() == []


def test_a_negative_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="max_events"):
        MicroCollector(max_events=-1)


def test_memory_stays_flat_once_the_lists_are_full() -> None:
    collector = MicroCollector(max_events=200)
    batch = [event(co=envelope(STANDARD, PING), se_la="x" * 200) for _ in range(100)]
    bodies = [json.dumps({"schema": PAYLOAD_DATA, "data": batch + [event(se_ac="")] * 100}).encode()] * 12
    tracemalloc.start()
    try:
        for body in bodies[:2]:  # fills both lists
            collector.collect_post(body)
        full, _ = tracemalloc.get_traced_memory()
        for body in bodies[2:]:  # five times as many events again
            collector.collect_post(body)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert collector.counts()["dropped"] == 2 * 1000
    assert len(collector.good()) == len(collector.bad()) == 200
    assert after - full < full / 20, f"{full} bytes when full, then grew by {after - full}"


def test_a_bad_body_is_kept_only_in_part() -> None:
    collector = MicroCollector()
    body = b"{" + b"x" * 200_000

    assert collector.collect_post(body).status == 400

    (bad,) = collector.bad()
    assert len(bad["collectorPayload"]["body"]) == 65_536


def test_the_rest_api_routes(collector: MicroCollector) -> None:
    post(collector, event())

    assert json.loads(collector.handle("GET", "/micro/all").body) == {"total": 1, "good": 1, "bad": 0}
    assert len(json.loads(collector.handle("GET", "/micro/good").body)) == 1
    assert json.loads(collector.handle("POST", "/micro/good", body=b'{"event_type": "unstruct"}').body) == []
    assert json.loads(collector.handle("GET", "/micro/bad").body) == []
    assert collector.handle("POST", "/micro/good", body=b"{nope").status == 400
    assert json.loads(collector.handle("GET", f"/micro/iglu/{GITLAB_STANDARD_SCHEMA[5:]}").body)["self"]["version"] == (
        "1-1-7"
    )
    assert collector.handle("GET", "/micro/iglu/com.example/x/jsonschema/1-0-0").status == 404
    assert collector.handle("GET", "/health").status == 200
    assert collector.handle("GET", "/elsewhere").status == 404
    assert collector.handle("OPTIONS", "/com.snowplowanalytics.snowplow/tp2").status == 204
    assert json.loads(collector.handle("GET", "/micro/reset").body) == {"total": 0, "good": 0, "bad": 0}
