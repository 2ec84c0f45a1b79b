"""Django: function views and class-based views track after a successful response only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import django
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import Http404
from django.test import Client, override_settings
from django.urls import path
from django.views import View

from otel_internal_events import TrackingError
from otel_internal_events.django import RESOLVERS_SETTING, InternalEventsMixin, tracks_internal_event, view_event
from otel_internal_events.testing import (
    capture_internal_events,
    increment_usage_metrics,
    not_trigger_internal_events,
    trigger_internal_events,
)

from .conftest import ARCHIVE, FORGE, VIEW


@dataclass(frozen=True)
class SignedInUser:
    id: int
    is_authenticated: bool = True


ALICE = SignedInUser(7)


def log_in(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Middleware: ``?anonymous`` leaves the request anonymous, as Django's AnonymousUser."""

    def middleware(request: HttpRequest) -> HttpResponse:
        request.user = SignedInUser(0, is_authenticated=False) if "anonymous" in request.GET else ALICE  # type: ignore[assignment]
        return get_response(request)

    return middleware


def current_project(request: HttpRequest) -> Any:
    return FORGE


def broken(request: HttpRequest) -> bool:
    raise LookupError("no such feature flag")


@tracks_internal_event(VIEW, additional_properties=lambda request: {"label": request.GET.get("mode", "rendered")})
def show(request: HttpRequest) -> HttpResponse:
    return HttpResponse("contents")


@tracks_internal_event(VIEW)
def moved(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/file")


@tracks_internal_event(VIEW)
def missing(request: HttpRequest) -> HttpResponse:
    raise Http404("no such file")


@tracks_internal_event(VIEW)
def failing(request: HttpRequest) -> HttpResponse:
    return HttpResponse("the backend is down", status=503)


@tracks_internal_event(VIEW)
def raising(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


@tracks_internal_event(VIEW, conditions=lambda request: request.GET.get("mode") == "raw")
def raw(request: HttpRequest) -> HttpResponse:
    return HttpResponse("contents")


@tracks_internal_event(VIEW, conditions=broken)
def flagged(request: HttpRequest) -> HttpResponse:
    return HttpResponse("contents")


@tracks_internal_event(ARCHIVE, project=lambda request: 5)
async def later(request: HttpRequest) -> HttpResponse:
    return HttpResponse("archive")


@tracks_internal_event(VIEW)
def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter(["a", "b"]))


class ArchiveView(InternalEventsMixin, View):
    internal_events = {"get": ARCHIVE, "POST": view_event(VIEW, additional_properties={"label": "raw"})}

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("archive")

    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("created", status=201)

    def delete(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=404)


class AsyncArchiveView(InternalEventsMixin, View):
    internal_events = {"get": ARCHIVE}

    async def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("archive", status=int(request.GET.get("status", "200")))


urlpatterns = [
    path("file", show),
    path("moved", moved),
    path("missing", missing),
    path("failing", failing),
    path("raising", raising),
    path("raw", raw),
    path("flagged", flagged),
    path("later", later),
    path("stream", stream),
    path("archive", ArchiveView.as_view()),
    path("async-archive", AsyncArchiveView.as_view()),
]

if not settings.configured:
    settings.configure(
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        SECRET_KEY="only-for-tests",
        MIDDLEWARE=[f"{__name__}.log_in"],
        **{RESOLVERS_SETTING: {"project": f"{__name__}.current_project"}},
    )
    django.setup()


@pytest.fixture
def client(configure: Any) -> Client:
    configure()
    return Client(raise_request_exception=False)


def test_a_successful_view_tracks_with_the_resolvers_of_the_settings(client: Client) -> None:
    expected = trigger_internal_events(VIEW).with_(
        user=ALICE, project=FORGE, namespace=30, additional_properties={"label": "blame"}
    )
    with expected & increment_usage_metrics("counts.count_total_view_repository_file_monthly").by(1):
        assert client.get("/file?mode=blame").status_code == 200


def test_an_anonymous_request_tracks_without_a_user(client: Client) -> None:
    with trigger_internal_events(VIEW).with_(user=None, project=FORGE, additional_properties={"label": "rendered"}):
        assert client.get("/file?anonymous").status_code == 200


def test_a_redirect_tracks(client: Client) -> None:
    with trigger_internal_events(VIEW).with_(user=ALICE, project=FORGE):
        assert client.get("/moved").status_code == 302


@pytest.mark.parametrize(("url", "status"), [("/missing", 404), ("/failing", 503), ("/raising", 500)])
def test_an_error_status_or_a_raising_view_does_not_track(client: Client, url: str, status: int) -> None:
    with not_trigger_internal_events():
        assert client.get(url).status_code == status


def test_a_false_condition_does_not_track(client: Client) -> None:
    with not_trigger_internal_events():
        assert client.get("/raw?mode=rendered").status_code == 200
    with trigger_internal_events(VIEW):
        client.get("/raw?mode=raw")


def test_an_async_view_tracks_with_its_own_project(client: Client) -> None:
    with trigger_internal_events(ARCHIVE).with_(user=ALICE, project=5):
        assert client.get("/later").status_code == 200


def test_a_streaming_view_tracks_before_its_body_is_read(client: Client) -> None:
    with capture_internal_events() as events:
        response = client.get("/stream")
        assert [event.name for event in events] == [VIEW]
        assert b"".join(response.streaming_content) == b"ab"  # type: ignore[attr-defined]
    assert len(events) == 1


def test_a_class_based_view_tracks_the_event_of_its_method(client: Client) -> None:
    with trigger_internal_events(ARCHIVE).with_(user=ALICE, project=FORGE):
        assert client.get("/archive").status_code == 200
    with trigger_internal_events(VIEW).with_(user=ALICE, project=FORGE, additional_properties={"label": "raw"}):
        assert client.post("/archive").status_code == 201
    with not_trigger_internal_events():
        assert client.delete("/archive").status_code == 404


def test_an_async_class_based_view_tracks_after_success_only(client: Client) -> None:
    with trigger_internal_events(ARCHIVE).with_(user=ALICE, project=FORGE):
        assert client.get("/async-archive").status_code == 200
    with not_trigger_internal_events():
        assert client.get("/async-archive?status=500").status_code == 500


def test_a_raising_condition_raises_in_strict_mode(configure: Any) -> None:
    configure()
    with pytest.raises(TrackingError, match="the conditions hook raised LookupError"):
        Client().get("/flagged")


def test_a_raising_condition_is_counted_and_the_response_kept_in_production(configure: Any, points: Any) -> None:
    configure(strict=False)
    with not_trigger_internal_events():
        response = Client().get("/flagged")
    assert (response.status_code, response.content) == (200, b"contents")
    assert points("internal_events.rejected") == {(("event", VIEW), ("reason", "hook_error")): 1}


@pytest.fixture
def no_resolvers() -> Iterator[None]:
    with override_settings(**{RESOLVERS_SETTING: {}}):
        yield


def test_without_resolvers_the_user_is_the_authenticated_one(client: Client, no_resolvers: None) -> None:
    with trigger_internal_events(VIEW).with_(user=ALICE, project=None, additional_properties={"label": "rendered"}):
        assert client.get("/file").status_code == 200
