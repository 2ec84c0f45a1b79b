"""The user id sent to Snowplow is a keyed hash, never the raw id; without a key it is left out."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.iglu import GITLAB_STANDARD_SCHEMA
from otel_internal_events.sinks import pseudonymize

from ._helpers import SECRET, Micro, decoded_contexts

RAW_USER_ID = 987654321


class User:
    id = RAW_USER_ID


def standard_contexts(micro: Micro) -> list[dict[str, Any]]:
    return [
        c["data"] for e in micro.good() for c in e["event"]["contexts"]["data"] if c["schema"] == GITLAB_STANDARD_SCHEMA
    ]


def test_no_raw_user_id_appears_anywhere_in_what_the_collector_receives(shared_micro: Micro) -> None:
    oie.track_internal_event("create_merge_request", user=RAW_USER_ID, project=3, namespace=30)
    oie.track_internal_event("create_merge_request", user=User(), project=3, namespace=30)
    assert oie.flush(10_000)

    posts = [body for method, _target, body in shared_micro.requests if method == "POST"]
    assert posts
    decoded = []
    for body in posts:
        assert str(RAW_USER_ID).encode() not in body
        for event in json.loads(body)["data"]:
            decoded.append(json.dumps(decoded_contexts(event)))
    assert len(decoded) == 2
    assert all(str(RAW_USER_ID) not in text for text in decoded)
    assert str(RAW_USER_ID) not in json.dumps(shared_micro.good())
    expected = pseudonymize(RAW_USER_ID, SECRET.encode())
    assert [c["user_id"] for c in standard_contexts(shared_micro)] == [expected, expected]


def test_the_hash_depends_on_the_secret_and_is_stable() -> None:
    first = pseudonymize(RAW_USER_ID, b"one")
    assert first == pseudonymize(RAW_USER_ID, b"one")
    assert first == pseudonymize(str(RAW_USER_ID), b"one")  # the same user, as an int or a string id
    assert first != pseudonymize(RAW_USER_ID, b"two")
    assert first != pseudonymize(RAW_USER_ID + 1, b"one")


def test_without_a_secret_the_user_id_is_left_out_and_a_warning_says_why_once(
    configure_snowplow: Callable[..., Any], snowplow_micro: Micro, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="otel_internal_events"):
        configure_snowplow(pseudonymization_secret=None)
        oie.track_internal_event("create_merge_request", user=RAW_USER_ID, project=3, namespace=30)
        oie.track_internal_event("create_merge_request", user=RAW_USER_ID, project=3, namespace=30)
        assert oie.flush(10_000)

    assert [c["user_id"] for c in standard_contexts(snowplow_micro)] == [None, None]
    assert all(str(RAW_USER_ID).encode() not in body for _m, _t, body in snowplow_micro.requests)
    warnings = [r.getMessage() for r in caplog.records if "pseudonymization secret" in r.getMessage()]
    assert len(warnings) == 1
    assert "OTEL_INTERNAL_EVENTS_PSEUDONYMIZATION_SECRET" in warnings[0]


def test_the_secret_is_not_shown_in_the_settings_repr() -> None:
    settings = oie.Settings(pseudonymization_secret="hunter2")

    assert "hunter2" not in repr(settings)
