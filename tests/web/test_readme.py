"""The README's web framework examples run as written."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import path
from starlette.testclient import TestClient

from otel_internal_events.django import RESOLVERS_SETTING
from otel_internal_events.testing import not_trigger_internal_events, trigger_internal_events

from . import test_django  # noqa: F401  (configures Django's settings)
from .conftest import ARCHIVE, VIEW

README = Path(__file__).resolve().parents[2] / "README.md"


def example(name: str) -> dict[str, Any]:
    """The globals of the README's code block marked ``# README example: <name>``, after running it."""
    found = re.findall(rf"```python\n# README example: {name}\n(.*?)```", README.read_text("utf-8"), re.DOTALL)
    assert len(found) == 1, f"one README example named {name!r}"
    namespace: dict[str, Any] = {"__name__": f"readme_{name}"}
    exec(compile(found[0], f"README.md ({name})", "exec"), namespace)
    return namespace


def test_the_flask_example(configure: Any) -> None:
    configure()
    client = example("flask")["app"].test_client()
    headers = {"X-User-Id": "7"}
    expected = trigger_internal_events(VIEW).with_(user=7, project=3, additional_properties={"label": "rendered"})
    with expected:
        assert client.get("/3/files/src/app.py", headers=headers).text == "contents of src/app.py"
    with not_trigger_internal_events():
        assert client.get("/3/files/src/app.py?preview", headers=headers).status_code == 200
    with trigger_internal_events(ARCHIVE).with_(user=7, project=3):
        assert client.get("/3/archive", headers=headers).text == "archive"


def test_the_fastapi_example(configure: Any) -> None:
    configure()
    headers = {"X-User-Id": "7"}
    with TestClient(example("fastapi")["app"]) as client:
        expected = trigger_internal_events(VIEW).with_(user=7, project=3, additional_properties={"label": "raw"})
        with expected:
            assert client.get("/3/files/app.py", headers=headers).json() == {"path": "app.py"}
        with trigger_internal_events(ARCHIVE).with_(user=7, project=3):
            assert client.get("/3/archive?format=tar", headers=headers).json() == {"format": "tar"}
        with not_trigger_internal_events():
            assert client.get("/nope/archive", headers=headers).status_code == 422


@pytest.fixture
def django_example() -> Any:
    views = example("django")
    urls = types.ModuleType("readme_django_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("files/<path:path>", views["show_file"]),
        path("archive", views["ArchiveView"].as_view()),
    ]
    with override_settings(ROOT_URLCONF=urls, **{RESOLVERS_SETTING: {}}):
        yield


def test_the_django_example(configure: Any, django_example: None) -> None:
    configure()
    client = Client()  # the middleware of the Django tests' settings signs user 7 in
    with trigger_internal_events(VIEW).with_(user=7, additional_properties={"label": "blame"}):
        assert client.get("/files/app.py").content == b"contents of app.py"
    with trigger_internal_events(ARCHIVE).with_(user=7):
        assert client.get("/archive").content == b"archive"
