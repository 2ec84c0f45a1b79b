"""GitLab's events API on the gateway: tokens, batches, field errors, limits, the OpenAPI document."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_internal_events.cli import main
from otel_internal_events.errors import ConfigurationError
from otel_internal_events.service import TokenStore, new_token, read_tokens

from .conftest import RunningGateway

WEEK = "2026-48"
CREATE = {"event": "create_merge_request", "project_id": 7, "namespace_id": 1007, "additional_properties": {}}


def test_an_event_is_counted_for_the_tokens_user_and_the_given_ids(gateway: RunningGateway) -> None:
    gateway.clear()
    response = gateway.post_api("track_event", {**CREATE, "additional_properties": {"label": "web"}})

    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "rejected": 0, "problems": []}
    keys = gateway.keys()
    assert keys["{event_counters}_create_merge_request"] == 1
    assert keys[f"{{hll_counters}}_create_merge_request-user-{WEEK}"] == 1
    assert gateway.redis.pfadd(f"{gateway.prefix}{{hll_counters}}_create_merge_request-user-{WEEK}", "42") == 0
    assert gateway.redis.pfadd(f"{gateway.prefix}{{hll_counters}}_create_merge_request-project-{WEEK}", "7") == 0


def test_gitlabs_private_token_header_is_accepted(gateway: RunningGateway) -> None:
    gateway.clear()
    response = gateway.http.post(
        f"{gateway.url}/api/v4/usage_data/track_event", json=CREATE, headers={"PRIVATE-TOKEN": gateway.token}
    )

    assert response.status_code == 200
    assert gateway.total("create_merge_request") == 1


@pytest.mark.parametrize("authorization", [None, "Bearer oiet_not-a-token", "Basic dXNlcjpwYXNz"])
def test_a_request_without_a_valid_token_is_401_and_counts_nothing(
    gateway: RunningGateway, authorization: str | None
) -> None:
    gateway.clear()
    headers = {"Authorization": authorization} if authorization else {}
    response = gateway.http.post(f"{gateway.url}/api/v4/usage_data/track_event", json=CREATE, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "valid token" in response.json()["error"]
    assert gateway.keys() == {}


def test_a_batch_of_events_is_counted_and_more_than_50_is_400(gateway: RunningGateway) -> None:
    gateway.clear()
    response = gateway.post_api("track_events", {"events": [CREATE, {**CREATE, "event": "run_ci_job"}]})
    assert response.json() == {"accepted": 2, "rejected": 0, "problems": []}

    response = gateway.post_api("track_events", {"events": [CREATE] * 51})
    assert response.status_code == 400
    assert response.json()["error"] == "Maximum 50 events allowed in one request."
    assert gateway.total("create_merge_request") == 1


def test_malformed_fields_are_400_naming_each_field(gateway: RunningGateway) -> None:
    gateway.clear()
    response = gateway.post_api(
        "track_events",
        {"events": [CREATE, {"project_id": "seven"}, {**CREATE, "additional_properties": ["label"]}]},
    )

    assert response.status_code == 400
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["events[1].event", "events[1].project_id", "events[2].additional_properties"]
    assert response.json()["error"].startswith("events[1].event: ")
    assert gateway.keys() == {}


def test_a_body_that_is_not_json_is_400(gateway: RunningGateway) -> None:
    response = gateway.http.post(
        f"{gateway.url}/api/v4/usage_data/track_event",
        content=b"{event:",
        headers={"Authorization": f"Bearer {gateway.token}", "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_a_body_over_the_limit_is_413(gateway: RunningGateway) -> None:
    gateway.clear()
    big = {**CREATE, "additional_properties": {"label": "x" * (gateway.gateway.settings.api_max_body_bytes + 1)}}
    response = gateway.post_api("track_event", big)

    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    assert gateway.keys() == {}


def test_problems_are_told_and_the_valid_events_counted_in_production(gateway: RunningGateway) -> None:
    gateway.clear()
    response = gateway.post_api(
        "track_events",
        {"events": [{**CREATE, "event": "no_such_event"}, {**CREATE, "additional_properties": {"secret": "x"}}]},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert body["problems"] == [
        "event 'no_such_event': unknown event",
        "event 'create_merge_request': additional_properties.secret: property is not declared by the event "
        "(declared: label, property)",
    ]
    assert gateway.total("create_merge_request") == 1


def test_strict_mode_refuses_the_whole_request_with_422(make_gateway: Callable[..., RunningGateway]) -> None:
    strict = make_gateway(strict=True)
    response = strict.post_api("track_events", {"events": [CREATE, {**CREATE, "event": "no_such_event"}]})

    assert response.status_code == 422
    assert response.json()["error"] == "event 'no_such_event': unknown event"
    assert response.json()["accepted"] == 0
    assert strict.keys() == {}
    assert strict.post_api("track_events", {"events": [CREATE]}).status_code == 200
    assert strict.total("create_merge_request") == 1


def test_the_rate_limit_refuses_a_request_over_it_whole_with_429(make_gateway: Callable[..., RunningGateway]) -> None:
    limited = make_gateway(api_rate_limit=5)
    assert limited.post_api("track_events", {"events": [CREATE] * 3}).status_code == 200

    response = limited.post_api("track_events", {"events": [CREATE] * 3})
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert "5 events per minute" in response.json()["error"]
    assert limited.total("create_merge_request") == 3

    assert limited.post_api("track_events", {"events": [CREATE] * 2}).status_code == 200  # the refused used none
    assert limited.post_api("track_event", CREATE).status_code == 429
    other = new_token(limited.tokens_file, 43)
    assert limited.post_api("track_event", CREATE, token=other).status_code == 200  # per token
    assert limited.total("create_merge_request") == 6


def test_health_readiness_and_the_openapi_document(gateway: RunningGateway) -> None:
    assert gateway.http.get(f"{gateway.url}/-/health").json() == {"status": "ok"}
    ready = gateway.http.get(f"{gateway.url}/-/ready").json()
    assert ready["status"] == "ready"
    assert ready["events"] == len(gateway.gateway.registry.events) and ready["tokens"] >= 1

    document = gateway.http.get(f"{gateway.url}/openapi.json").json()
    paths = document["paths"]
    assert {"/api/v4/usage_data/track_event", "/api/v4/usage_data/track_events"} <= set(paths)
    operation = paths["/api/v4/usage_data/track_events"]["post"]
    assert {"200", "400", "401", "413", "422", "429", "503"} <= set(operation["responses"])
    event = document["components"]["schemas"]["TrackEventRequest"]
    assert event["required"] == ["event"]
    assert set(event["properties"]) == {
        "event",
        "namespace_id",
        "project_id",
        "additional_properties",
        "send_to_snowplow",
        "category",
    }
    assert document["components"]["schemas"]["TrackEventsRequest"]["properties"]["events"]["maxItems"] == 50
    assert not any(path.startswith("/v1/") for path in paths)


def test_a_new_token_is_stored_only_as_its_hash_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    token = new_token(path, 42, "ci")

    text = path.read_text()
    assert token.startswith("oiet_") and token not in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    (entry,) = read_tokens(path).values()
    assert (entry.user_id, entry.note) == (42, "ci")
    assert TokenStore(path).user_of(token) == 42
    assert TokenStore(path).user_of(token + "x") is None


def test_a_revoked_token_is_refused_once_the_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    token = new_token(path, "svc-ci")
    store = TokenStore(path, reload_every_s=0)
    assert store.user_of(token) == "svc-ci"

    path.write_text("# emptied\n")

    assert store.user_of(token) is None


def test_a_broken_tokens_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# tokens\nsha256:abc user=1\n")

    with pytest.raises(ConfigurationError, match=r"tokens:2: expected 'sha256:<64 hex digits> user=<id>"):
        read_tokens(path)
    store = TokenStore(path)
    assert len(store) == 0 and store.problem is not None and "tokens:2" in store.problem


def test_the_token_commands_make_list_and_revoke(tmp_path: Path) -> None:
    path = tmp_path / "api-tokens"
    runner = CliRunner()
    made = runner.invoke(main, ["token", "new", "--user", "42", "--note", "ci", "--file", str(path)])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert TokenStore(path).user_of(token) == 42

    listed = runner.invoke(main, ["token", "list", "--file", str(path)])
    digest = next(iter(read_tokens(path)))
    assert f"sha256:{digest[:12]}  user=42" in listed.stdout and "ci" in listed.stdout

    assert runner.invoke(main, ["token", "revoke", digest[:3], "--file", str(path)]).exit_code == 1  # too short
    revoked = runner.invoke(main, ["token", "revoke", digest[:8], "--file", str(path)])
    assert revoked.exit_code == 0, revoked.output
    assert TokenStore(path).user_of(token) is None


def test_a_request_sent_again_with_its_idempotency_key_is_counted_once(gateway: RunningGateway) -> None:
    gateway.clear()
    for key in ("k-1", "k-1", "k-2"):
        response = gateway.post_api("track_event", CREATE, headers={"Idempotency-Key": key})
        assert response.json() == {"accepted": 1, "rejected": 0, "problems": []}
    gateway.post_api("track_event", CREATE)
    gateway.post_api("track_event", CREATE)  # no key: every request counts

    assert gateway.total("create_merge_request") == 4
