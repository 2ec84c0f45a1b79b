"""Starlette and FastAPI: endpoints track once the response starts with a successful status."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from otel_internal_events import ConfigurationError, TrackingError
from otel_internal_events.starlette import InternalEventsMiddleware, track_on_success, tracks_internal_event
from otel_internal_events.testing import (
    capture_internal_events,
    increment_usage_metrics,
    not_trigger_internal_events,
    trigger_internal_events,
)

from .conftest import ALICE, ARCHIVE, FORGE, VIEW


def broken(request: Request) -> bool:
    raise LookupError("no such feature flag")


def make_fastapi() -> FastAPI:
    app = FastAPI()
    app.add_middleware(InternalEventsMiddleware, user=lambda request: request.state.user, project=lambda request: FORGE)

    @app.middleware("http")
    async def log_in(request: Request, call_next: Any) -> Any:
        request.state.user = ALICE
        return await call_next(request)

    label = {"label": "rendered"}

    @app.get("/file", dependencies=[Depends(track_on_success(VIEW, additional_properties=label))])
    async def show() -> dict[str, str]:
        return {"contents": "x"}

    @app.get("/sync", dependencies=[Depends(track_on_success(VIEW))])
    def show_sync() -> dict[str, str]:
        return {"contents": "x"}

    @app.get("/moved", dependencies=[Depends(track_on_success(VIEW))])
    async def moved() -> RedirectResponse:
        return RedirectResponse("/file")

    @app.get("/missing", dependencies=[Depends(track_on_success(VIEW))])
    async def missing() -> None:
        raise HTTPException(status_code=404)

    @app.get("/failing", dependencies=[Depends(track_on_success(VIEW))])
    async def failing() -> JSONResponse:
        return JSONResponse({"error": "down"}, status_code=503)

    @app.get("/raising", dependencies=[Depends(track_on_success(VIEW))])
    async def raising() -> None:
        raise RuntimeError("boom")

    @app.get("/raw", dependencies=[Depends(track_on_success(VIEW, conditions=lambda r: r.query_params.get("raw")))])
    async def raw() -> str:
        return "x"

    @app.get("/flagged", dependencies=[Depends(track_on_success(VIEW, conditions=broken))])
    async def flagged() -> str:
        return "x"

    @app.get("/archive/{ref}")
    @tracks_internal_event(ARCHIVE, project=lambda request: int(request.path_params["ref"]))
    async def archive(ref: str, format: str = "zip") -> dict[str, str]:
        return {"ref": ref, "format": format}

    @app.get("/archive-sync")
    @tracks_internal_event(ARCHIVE)
    def archive_sync() -> str:
        return "x"

    @app.get("/decorated-missing")
    @tracks_internal_event(ARCHIVE)
    async def decorated_missing() -> None:
        raise HTTPException(status_code=404)

    @app.get("/stream", dependencies=[Depends(track_on_success(VIEW))])
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[str]:
            yield "a"
            yield "b"

        return StreamingResponse(chunks(), media_type="text/plain")

    @app.get("/stream-missing", dependencies=[Depends(track_on_success(VIEW))])
    async def stream_missing() -> StreamingResponse:
        return StreamingResponse(iter(["gone"]), status_code=410)

    return app


@pytest.fixture
def client(configure: Any) -> Iterator[TestClient]:
    configure()
    with TestClient(make_fastapi(), raise_server_exceptions=False) as client:
        yield client


def test_the_dependency_tracks_a_successful_response_with_the_resolvers(client: TestClient) -> None:
    expected = trigger_internal_events(VIEW).with_(
        user=ALICE, project=FORGE, additional_properties={"label": "rendered"}
    )
    with expected & increment_usage_metrics("counts.count_total_view_repository_file_monthly").by(1):
        assert client.get("/file").json() == {"contents": "x"}


def test_a_sync_endpoint_tracks(client: TestClient) -> None:
    with trigger_internal_events(VIEW).with_(user=ALICE, project=FORGE):
        assert client.get("/sync").status_code == 200


def test_a_redirect_tracks(client: TestClient) -> None:
    with trigger_internal_events(VIEW):
        assert client.get("/moved", follow_redirects=False).status_code == 307


@pytest.mark.parametrize(
    ("path", "status"),
    [("/missing", 404), ("/failing", 503), ("/raising", 500), ("/decorated-missing", 404), ("/stream-missing", 410)],
)
def test_an_error_status_or_a_raising_endpoint_does_not_track(client: TestClient, path: str, status: int) -> None:
    with not_trigger_internal_events():
        assert client.get(path).status_code == status


def test_a_false_condition_does_not_track(client: TestClient) -> None:
    with not_trigger_internal_events():
        assert client.get("/raw").status_code == 200
    with trigger_internal_events(VIEW):
        client.get("/raw?raw=1")


def test_the_decorator_keeps_the_endpoints_parameters(client: TestClient) -> None:
    with trigger_internal_events(ARCHIVE).with_(user=ALICE, project=12):
        assert client.get("/archive/12?format=tar").json() == {"ref": "12", "format": "tar"}
    with trigger_internal_events(ARCHIVE).with_(user=ALICE, project=FORGE):
        assert client.get("/archive-sync").status_code == 200


def test_a_streaming_response_tracks_once_when_its_status_is_sent(client: TestClient) -> None:
    with capture_internal_events() as events, client.stream("GET", "/stream") as response:
        assert response.status_code == 200
        assert [event.name for event in events] == [VIEW]
        assert response.read() == b"ab"
    assert len(events) == 1


def test_a_raising_condition_raises_in_strict_mode(configure: Any) -> None:
    configure()
    with TestClient(make_fastapi()) as client, pytest.raises(TrackingError, match="conditions hook raised LookupError"):
        client.get("/flagged")


def test_a_raising_condition_is_counted_and_the_response_kept_in_production(configure: Any, points: Any) -> None:
    configure(strict=False)
    with TestClient(make_fastapi()) as client, not_trigger_internal_events():
        assert client.get("/flagged").json() == "x"
    assert points("internal_events.rejected") == {(("event", VIEW), ("reason", "hook_error")): 1}


async def plain_archive(request: Request) -> PlainTextResponse:
    return PlainTextResponse("archive", status_code=int(request.query_params.get("status", "200")))


def test_a_starlette_endpoint_tracks_with_the_decorator(configure: Any) -> None:
    configure()
    endpoint = tracks_internal_event(ARCHIVE, user=lambda request: 9)(plain_archive)
    app = Starlette(routes=[Route("/archive", endpoint)])
    app.add_middleware(InternalEventsMiddleware)
    with TestClient(app) as client:
        with trigger_internal_events(ARCHIVE).with_(user=9):
            assert client.get("/archive").text == "archive"
        with not_trigger_internal_events():
            assert client.get("/archive?status=500").status_code == 500


def test_without_the_middleware_strict_mode_raises(configure: Any) -> None:
    configure()
    app = Starlette(routes=[Route("/archive", tracks_internal_event(ARCHIVE)(plain_archive))])
    with TestClient(app) as client, pytest.raises(ConfigurationError, match="needs InternalEventsMiddleware"):
        client.get("/archive")


def test_without_the_middleware_production_answers_and_tracks_nothing(configure: Any) -> None:
    configure(strict=False)
    app = Starlette(routes=[Route("/archive", tracks_internal_event(ARCHIVE)(plain_archive))])
    with TestClient(app) as client, not_trigger_internal_events():
        assert client.get("/archive").text == "archive"
