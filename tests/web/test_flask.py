"""Flask: views and class-based views track after a successful response only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, abort, g, redirect
from flask.views import MethodView

from otel_internal_events import TrackingError
from otel_internal_events.flask import InternalEventsFlask, InternalEventsMixin, tracks_internal_event, view_event
from otel_internal_events.testing import (
    capture_internal_events,
    increment_usage_metrics,
    not_trigger_internal_events,
    trigger_internal_events,
)

from .conftest import ALICE, ARCHIVE, FORGE, VIEW


def broken(request: Any) -> bool:
    raise LookupError("no such feature flag")


def make_app() -> Flask:
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a view that raises answers 500, as in production
    InternalEventsFlask(app, user=lambda request: g.user, project=lambda request: FORGE)

    @app.before_request
    def log_in() -> None:
        g.user = ALICE

    @app.get("/file")
    @tracks_internal_event(VIEW, additional_properties=lambda request: {"label": request.args.get("mode", "rendered")})
    def show() -> str:
        return "contents"

    @app.get("/moved")
    @tracks_internal_event(VIEW)
    def moved() -> Response:
        return redirect("/file")

    @app.get("/missing")
    @tracks_internal_event(VIEW)
    def missing() -> str:
        abort(404)

    @app.get("/failing")
    @tracks_internal_event(VIEW)
    def failing() -> tuple[str, int]:
        return "the backend is down", 503

    @app.get("/raising")
    @tracks_internal_event(VIEW)
    def raising() -> str:
        raise RuntimeError("boom")

    @app.get("/raw")
    @tracks_internal_event(VIEW, conditions=lambda request: request.args.get("mode") == "raw")
    def raw() -> str:
        return "contents"

    @app.get("/flagged")
    @tracks_internal_event(VIEW, conditions=broken)
    def flagged() -> str:
        return "contents"

    @app.get("/anonymous")
    @tracks_internal_event(ARCHIVE, user=lambda request: None, project=lambda request: 5)
    def anonymous() -> str:
        return "archive"

    @app.get("/later")
    @tracks_internal_event(VIEW)
    async def later() -> str:
        return "contents"

    @app.get("/stream")
    @tracks_internal_event(VIEW)
    def stream() -> Response:
        def chunks() -> Iterator[str]:
            yield "a"
            yield "b"

        return Response(chunks(), mimetype="text/plain")

    class ArchiveView(InternalEventsMixin, MethodView):
        internal_events = {"GET": ARCHIVE, "post": view_event(VIEW, additional_properties={"label": "raw"})}

        def get(self) -> str:
            return "archive"

        def post(self) -> tuple[str, int]:
            return "created", 201

        def delete(self) -> tuple[str, int]:
            return "", 204

    app.add_url_rule("/archive", view_func=ArchiveView.as_view("archive"))
    return app


@pytest.fixture
def client(configure: Any) -> Any:
    configure()
    return make_app().test_client()


def test_a_successful_view_tracks_with_the_apps_resolvers(client: Any) -> None:
    expected = trigger_internal_events(VIEW).with_(
        user=ALICE, project=FORGE, namespace=30, additional_properties={"label": "blame"}
    )
    with expected & increment_usage_metrics("counts.count_total_view_repository_file_monthly").by(1):
        assert client.get("/file?mode=blame").status_code == 200


def test_a_redirect_tracks(client: Any) -> None:
    with trigger_internal_events(VIEW).with_(user=ALICE, project=FORGE):
        assert client.get("/moved").status_code == 302


@pytest.mark.parametrize(("path", "status"), [("/missing", 404), ("/failing", 503), ("/raising", 500)])
def test_an_error_status_or_a_raising_view_does_not_track(client: Any, path: str, status: int) -> None:
    with not_trigger_internal_events():
        assert client.get(path).status_code == status


def test_a_false_condition_does_not_track(client: Any) -> None:
    with not_trigger_internal_events():
        assert client.get("/raw?mode=rendered").status_code == 200
    with trigger_internal_events(VIEW):
        client.get("/raw?mode=raw")


def test_a_view_overrides_the_apps_resolvers(client: Any) -> None:
    with trigger_internal_events(ARCHIVE).with_(project=5):
        assert client.get("/anonymous").status_code == 200


def test_an_async_view_tracks(client: Any) -> None:
    with trigger_internal_events(VIEW).with_(user=ALICE, project=FORGE):
        assert client.get("/later").status_code == 200


def test_a_streaming_view_tracks_before_its_body_is_read(client: Any) -> None:
    with capture_internal_events() as events:
        response = client.get("/stream", buffered=False)
        assert [event.name for event in events] == [VIEW]
        assert response.get_data(as_text=True) == "ab"
    assert len(events) == 1


def test_a_class_based_view_tracks_the_event_of_its_method(client: Any) -> None:
    with trigger_internal_events(ARCHIVE).with_(user=ALICE, project=FORGE):
        assert client.get("/archive").status_code == 200
    with trigger_internal_events(VIEW).with_(user=ALICE, project=FORGE, additional_properties={"label": "raw"}):
        assert client.post("/archive").status_code == 201
    with not_trigger_internal_events():
        assert client.delete("/archive").status_code == 204


def test_a_raising_condition_raises_in_strict_mode(client: Any) -> None:
    with pytest.raises(TrackingError, match="the conditions hook raised LookupError"):
        client.application.config["PROPAGATE_EXCEPTIONS"] = True
        client.get("/flagged")


def test_a_raising_condition_is_counted_and_the_response_kept_in_production(configure: Any, points: Any) -> None:
    configure(strict=False)
    with not_trigger_internal_events():
        response = make_app().test_client().get("/flagged")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "contents")
    assert points("internal_events.rejected") == {(("event", VIEW), ("reason", "hook_error")): 1}


def test_without_the_extension_no_identifier_is_resolved(configure: Any) -> None:
    configure()
    app = Flask(__name__)
    app.add_url_rule("/", view_func=tracks_internal_event(ARCHIVE)(lambda: "archive"))
    with trigger_internal_events(ARCHIVE).with_(user=None, project=None):
        assert app.test_client().get("/").status_code == 200
