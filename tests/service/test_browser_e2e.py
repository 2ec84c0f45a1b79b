"""The browser client in a real browser: headless Chromium (Debian's package) loads the demo page
from a gateway, events are clicked, one leaves with the page, and Redis holds the right counts."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright

from otel_internal_events.cli import DEMO_USER, demo_web_app

from .conftest import RunningGateway

SECRET = "the-e2e-browser-secret-0123456789"
WEEK = "2026-48"
#: Without the background-networking flags Chromium keeps calling out to Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("no Chromium: install Debian's chromium package (python3 tasks.py test does it as root)")
    return path


#: What reached the events API: each request's headers and JSON body (the test app records them).
received: list[tuple[dict[str, str], dict[str, Any]]] = []


def recording_demo_app(gateway: Any) -> Any:
    """The demo page's app, recording each events API request as it arrives."""
    app = demo_web_app(gateway)

    @app.middleware("http")
    async def record(request: Any, call_next: Any) -> Any:
        if request.url.path.endswith("/track_events"):
            received.append((dict(request.headers), json.loads(await request.body())))
        return await call_next(request)

    return app


@pytest.fixture(scope="module")
def web(make_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    return make_gateway(recording_demo_app, browser_secret=SECRET)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


def sent_events(requests: list[Request]) -> list[dict[str, Any]]:
    """The events of every batch the page posted to the events API."""
    events: list[dict[str, Any]] = []
    for request in requests:
        if request.url.endswith("/api/v4/usage_data/track_events") and request.method == "POST":
            events.extend(json.loads(request.post_data or "{}")["events"])
    return events


def wait_for_totals(web: RunningGateway, expected: dict[str, int], timeout_s: float = 20) -> dict[str, int]:
    """The events' totals once they reach ``expected`` (the page sends them in the background)."""
    deadline = time.monotonic() + timeout_s
    while True:
        totals = {event: web.total(event) for event in expected}
        if totals == expected or time.monotonic() > deadline:
            return totals
        time.sleep(0.05)


def test_clicks_load_events_and_a_mixin_are_counted_with_their_properties(web: RunningGateway, page: Page) -> None:
    web.clear()
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))

    page.goto(web.url + "/")
    page.click("#comment")
    page.click("#suggestion")
    page.click("#suggestion")
    page.click("#ide")
    page.click("#approve")
    expected = {
        "view_merge_request_dashboard": 1,
        "create_merge_request_comment": 1,
        "apply_code_suggestion": 2,
        "open_web_ide": 1,
        "approve_merge_request": 1,
    }
    assert wait_for_totals(web, expected) == expected
    hll = f"{web.prefix}{{hll_counters}}_create_merge_request_comment-user-{WEEK}"
    assert web.redis.pfadd(hll, str(DEMO_USER)) == 0  # counted for the page's user

    page.context.close()  # the page is gone: nothing more can arrive
    sent = sent_events(requests)
    by_event = {event["event"]: event for event in sent}
    assert sorted(event["event"] for event in sent) == sorted(
        name for name, count in expected.items() for _ in range(count)
    )
    assert by_event["create_merge_request_comment"]["additional_properties"] == {"label": "web", "property": "diff"}
    assert by_event["apply_code_suggestion"]["additional_properties"] == {"label": "single", "value": 0}
    assert by_event["open_web_ide"]["additional_properties"] == {"label": "web", "language": "python"}
    assert by_event["approve_merge_request"]["category"] == "MergeRequestPage"
    assert by_event["view_merge_request_dashboard"]["additional_properties"] == {"label": "demo_page"}
    assert {(event["project_id"], event["namespace_id"]) for event in sent} == {(7, 1007)}
    assert web.total("create_merge_request_comment") == 1  # the page gone, still counted once


def test_an_event_tracked_as_the_page_is_left_is_counted_once(web: RunningGateway, page: Page) -> None:
    web.clear()
    page.goto(web.url + "/")
    assert wait_for_totals(web, {"view_merge_request_dashboard": 1}) == {"view_merge_request_dashboard": 1}
    received.clear()

    page.click("#merge")  # tracks, then navigates at once: the batch leaves on page hide
    page.wait_for_url("**/demo/merged")
    page.context.close()

    assert wait_for_totals(web, {"merge_merge_request": 1}) == {"merge_merge_request": 1}
    (headers, body), *_ = received
    # a beacon: no header to carry the token, so the body does, with the batch's idempotency key
    assert "authorization" not in headers
    assert body["token"].startswith("oiep_") and body["idempotency_key"]
    assert [event["event"] for event in body["events"]] == ["merge_merge_request"]
    runtime = web.gateway.runtime  # the event's properties came along: the metrics that filter and sum them moved
    assert runtime.metric_value("counts.count_total_squash_merges") == 1
    assert runtime.metric_value("counts.sum_value_from_merge_merge_request") == 3


def test_the_live_panel_shows_the_metric_values_the_clicks_move(web: RunningGateway, page: Page) -> None:
    web.clear()
    page.goto(web.url + "/")
    row = page.locator("#metrics tr", has_text="count_total_create_merge_request_comment")
    expect(row).to_contain_text("0", timeout=10_000)

    page.click("#comment")
    page.click("#comment")

    expect(row.locator("td.n")).to_have_text("2", timeout=10_000)


def test_the_page_uses_the_content_addressed_script_and_sends_no_cookie(web: RunningGateway, page: Page) -> None:
    web.clear()
    scripts: list[str] = []
    page.on("request", lambda request: scripts.append(request.url) if "/assets/" in request.url else None)
    page.context.add_cookies([{"name": "session", "value": "secret", "url": web.url}])

    with page.expect_request(lambda request: request.url.endswith("/track_events")) as posted:
        page.goto(web.url + "/")
        page.click("#comment")
    headers = posted.value.all_headers()

    assert len(scripts) == 1 and "/assets/internal_events." in scripts[0] and "internal_events.js" not in scripts[0]
    assert headers["authorization"].startswith("Bearer oiep_")
    assert headers["idempotency-key"]
    assert "cookie" not in headers  # the token authenticates, never a cookie
