"""The events API for browser pages: page tokens, beacons, the served client script, CORS."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from otel_internal_events.browser import (
    SCRIPT_PATH,
    page_context,
    page_context_tag,
    page_token,
    script_digest,
    script_url,
    verify_page_token,
)
from otel_internal_events.errors import ConfigurationError, PageTokenError

from .conftest import NOW_NS, RunningGateway

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-browser-secret-of-the-tests-0123456789"
NOW_S = NOW_NS / 1e9
WEEK = "2026-48"
CREATE = {"event": "create_merge_request", "project_id": 7, "namespace_id": 1007, "additional_properties": {}}


@pytest.fixture(scope="module")
def browser_gateway(make_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    return make_gateway(browser_secret=SECRET, api_cors_origins=("http://app.example",))


def beacon(gateway: RunningGateway, body: object) -> int:
    """Post ``body`` as navigator.sendBeacon does: a JSON blob, no Authorization header."""
    response = gateway.http.post(
        f"{gateway.url}/api/v4/usage_data/track_events",
        content=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    return response.status_code


def claim(user: int, token: str) -> str:
    """The payload of ``token`` with another user id in it."""
    encoded = token[len("oiep_") :].split(".")[0]
    expires = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).split(b"\n")[1]
    return base64.urlsafe_b64encode(f"{user}\n".encode() + expires).rstrip(b"=").decode()


# --- page tokens ------------------------------------------------------------------------------


def test_a_page_token_names_its_user_until_it_expires() -> None:
    token = page_token(SimpleNamespace(id=42), SECRET, ttl_s=600, now_s=NOW_S)

    assert token.startswith("oiep_")
    assert verify_page_token(token, SECRET, now_s=NOW_S + 599) == 42
    with pytest.raises(PageTokenError, match="expired"):
        verify_page_token(token, SECRET, now_s=NOW_S + 600)


def test_an_anonymous_page_token_and_a_word_user_id() -> None:
    assert verify_page_token(page_token(None, SECRET, now_s=NOW_S), SECRET, now_s=NOW_S) is None
    assert verify_page_token(page_token("alice", SECRET, now_s=NOW_S), SECRET, now_s=NOW_S) == "alice"


@pytest.mark.parametrize(
    ("forge", "problem"),
    [
        (lambda token: page_token(42, "another-secret-0123456789", now_s=NOW_S), "not signed"),
        # The user id changed in the payload, the signature kept: another user cannot be claimed.
        (lambda token: "oiep_" + claim(43, token) + "." + token.split(".")[1], "not signed"),
        (lambda token: token[:-4], "not signed|malformed"),
        (lambda token: "oiep_%%%.%%%", "malformed"),
        (lambda token: "oiet_personal", "not a page token"),
    ],
)
def test_a_forged_or_broken_page_token_is_refused(forge: Callable[[str], str], problem: str) -> None:
    token = page_token(42, SECRET, now_s=NOW_S)

    with pytest.raises(PageTokenError, match=problem):
        verify_page_token(forge(token), SECRET, now_s=NOW_S)


@pytest.mark.parametrize("user", [42, -5, "0042", "42", "alice", "²"])
def test_a_user_id_comes_back_as_it_went_in_its_type_too(user: int | str) -> None:
    """The string id "0042" is not the number 42: they are two users of the counters."""
    back = verify_page_token(page_token(user, SECRET, now_s=NOW_S), SECRET, now_s=NOW_S)

    assert back == user and type(back) is type(user)


def test_each_anonymous_page_gets_a_token_of_its_own() -> None:
    tokens = {page_token(None, SECRET, now_s=NOW_S) for _ in range(20)}

    assert len(tokens) == 20  # each its own rate limit and idempotency keys


def test_a_token_spelt_another_way_is_refused() -> None:
    """Base64 has spare bits in its last character: another spelling of the same bytes would be
    another key for the rate limit."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    token = page_token(77, SECRET, now_s=NOW_S)
    encoded, signature = token[len("oiep_") :].split(".")
    assert len(signature) % 4 != 0  # 32 bytes: 43 characters, two spare bits
    respelt = signature[:-1] + alphabet[alphabet.index(signature[-1]) ^ 1]
    assert base64.urlsafe_b64decode(respelt + "=") == base64.urlsafe_b64decode(signature + "=")

    with pytest.raises(PageTokenError, match="malformed"):
        verify_page_token(f"oiep_{encoded}.{respelt}", SECRET, now_s=NOW_S)


def test_a_short_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="at least 16 bytes"):
        page_token(42, "short")


def test_the_page_context_carries_ids_and_a_token_only_for_a_user_or_when_anonymous_is_sent() -> None:
    project = SimpleNamespace(id=7, namespace_id=1007)

    context = page_context(user=SimpleNamespace(id=42), project=project, secret=SECRET, now_s=NOW_S)
    anonymous = page_context(project=project, secret=SECRET, now_s=NOW_S)
    sent = page_context(secret=SECRET, send_anonymous=True, respect_dnt=True, now_s=NOW_S)

    assert {k: v for k, v in context.items() if k != "token"} == {
        "endpoint": "/api/v4/usage_data/track_events",
        "user_id": 42,
        "namespace_id": 1007,
        "project_id": 7,
        "send_anonymous": False,
        "respect_dnt": False,
    }
    assert verify_page_token(context["token"], SECRET, now_s=NOW_S) == 42
    assert "token" not in anonymous
    assert verify_page_token(sent["token"], SECRET, now_s=NOW_S) is None
    assert sent["respect_dnt"] is True


def test_the_context_tag_cannot_be_closed_by_what_it_carries() -> None:
    tag = page_context_tag(user=1, secret=SECRET, endpoint="/x</script><script>alert(1)</script>&")

    assert tag.startswith('<script type="application/json" id="otel-internal-events-context">{')
    assert tag.count("</script>") == 1 and tag.endswith("</script>")
    body = tag[tag.index(">") + 1 : -len("</script>")]
    assert json.loads(body)["endpoint"] == "/x</script><script>alert(1)</script>&"


# --- the events API with page tokens ----------------------------------------------------------------


def test_a_page_token_in_the_header_counts_for_its_user(browser_gateway: RunningGateway) -> None:
    browser_gateway.clear()
    token = page_token(77, SECRET, now_s=NOW_S)

    response = browser_gateway.post_api("track_events", {"events": [CREATE, CREATE]}, token=token)

    assert response.json() == {"accepted": 2, "rejected": 0, "problems": []}
    assert browser_gateway.total("create_merge_request") == 2
    hll = f"{browser_gateway.prefix}{{hll_counters}}_create_merge_request-user-{WEEK}"
    assert browser_gateway.redis.pfadd(hll, "77") == 0


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        (page_token(77, SECRET, ttl_s=60, now_s=NOW_S - 61), "expired"),
        (page_token(77, "another-secret-0123456789", now_s=NOW_S), "not signed"),
    ],
)
def test_an_expired_or_forged_page_token_is_401(browser_gateway: RunningGateway, token: str, problem: str) -> None:
    browser_gateway.clear()

    response = browser_gateway.post_api("track_events", {"events": [CREATE]}, token=token)

    assert response.status_code == 401
    assert problem in response.json()["error"]
    assert browser_gateway.keys() == {}


def test_without_a_browser_secret_the_gateway_takes_no_page_token(gateway: RunningGateway) -> None:
    gateway.clear()

    response = gateway.post_api("track_event", CREATE, token=page_token(77, SECRET, now_s=NOW_S))

    assert response.status_code == 401
    assert gateway.keys() == {}


def test_an_anonymous_page_token_counts_the_event_without_a_user(browser_gateway: RunningGateway) -> None:
    browser_gateway.clear()

    response = browser_gateway.post_api(
        "track_event", {**CREATE, "event": "view_repository_file"}, token=page_token(None, SECRET, now_s=NOW_S)
    )

    assert response.json() == {"accepted": 1, "rejected": 0, "problems": []}
    assert browser_gateway.total("view_repository_file") == 1
    counted = browser_gateway.keys()
    assert not any("-user-" in key for key in counted)


def test_a_beacon_carries_its_token_and_idempotency_key_in_the_body_and_counts_once(
    browser_gateway: RunningGateway,
) -> None:
    browser_gateway.clear()
    body = {"events": [CREATE], "token": page_token(77, SECRET, now_s=NOW_S), "idempotency_key": "batch-1"}

    assert beacon(browser_gateway, body) == 200
    assert beacon(browser_gateway, body) == 200  # sent again: the same batch
    assert browser_gateway.total("create_merge_request") == 1
    assert beacon(browser_gateway, {**body, "idempotency_key": "batch-2"}) == 200
    assert browser_gateway.total("create_merge_request") == 2


def test_a_beacon_without_a_valid_token_is_401(browser_gateway: RunningGateway) -> None:
    browser_gateway.clear()

    assert beacon(browser_gateway, {"events": [CREATE]}) == 401
    assert beacon(browser_gateway, {"events": [CREATE], "token": browser_gateway.token}) == 401  # personal: header only
    assert beacon(browser_gateway, {"events": [CREATE], "token": "oiep_x.y"}) == 401
    assert browser_gateway.keys() == {}


def test_the_same_idempotency_key_from_fetch_and_from_a_beacon_counts_once(browser_gateway: RunningGateway) -> None:
    """The client resends a batch by beacon when the page hides while its fetch is unanswered."""
    browser_gateway.clear()
    token = page_token(77, SECRET, now_s=NOW_S)

    browser_gateway.post_api("track_events", {"events": [CREATE]}, token=token, headers={"Idempotency-Key": "k-9"})
    assert beacon(browser_gateway, {"events": [CREATE], "token": token, "idempotency_key": "k-9"}) == 200

    assert browser_gateway.total("create_merge_request") == 1


def test_a_category_is_taken_and_checked(browser_gateway: RunningGateway) -> None:
    browser_gateway.clear()
    token = page_token(77, SECRET, now_s=NOW_S)

    good = browser_gateway.post_api("track_event", {**CREATE, "category": "ReviewPage"}, token=token)
    long = browser_gateway.post_api("track_event", {**CREATE, "category": "x" * 201}, token=token)

    assert good.json()["accepted"] == 1
    assert long.status_code == 400
    assert long.json()["errors"][0]["field"] == "category"


# --- the script and CORS ---------------------------------------------------------------------------


def test_the_client_script_is_served_by_name_briefly_and_by_content_for_good(browser_gateway: RunningGateway) -> None:
    source = (ROOT / "clients" / "js" / "internal_events.js").read_bytes()

    by_name = browser_gateway.http.get(browser_gateway.url + SCRIPT_PATH)
    by_content = browser_gateway.http.get(browser_gateway.url + script_url())
    stale = browser_gateway.http.get(f"{browser_gateway.url}/assets/internal_events.0123456789abcdef.js")

    assert by_name.content == source == by_content.content
    assert by_name.headers["content-type"].startswith("text/javascript")
    assert by_name.headers["cache-control"] == "public, max-age=300"
    assert by_content.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert script_digest() == hashlib.sha256(source).hexdigest()[:16]
    assert stale.status_code == 404


def test_cors_lets_the_configured_origin_post_with_a_header_token_and_no_other(
    browser_gateway: RunningGateway,
) -> None:
    def preflight(origin: str) -> dict[str, str]:
        response = browser_gateway.http.options(
            f"{browser_gateway.url}/api/v4/usage_data/track_events",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
            },
        )
        return dict(response.headers)

    allowed = preflight("http://app.example")
    refused = preflight("http://evil.example")

    assert allowed["access-control-allow-origin"] == "http://app.example"
    assert "access-control-allow-credentials" not in allowed  # no cookies, ever
    assert "access-control-allow-origin" not in refused
