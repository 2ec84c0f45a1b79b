"""``otel-internal-events examples EVENT``: every snippet parses, and each one's call validates."""

from __future__ import annotations

import ast
import json
import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

import otel_internal_events as oie
from otel_internal_events.cli import main
from otel_internal_events.definitions import load_definitions
from otel_internal_events.testing import trigger_internal_events

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "definitions"
EVENTS = sorted(load_definitions(SHIPPED).events)
PYTHON = ("Backend call", "Mixin (InternalEventsTracking)", "Decorated function", "Test (pytest, with our matchers)")
INNER_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def snippets(event: str) -> dict[str, str]:
    """The printed snippets of ``event``, by heading (plain text: CliRunner is no terminal)."""
    result = CliRunner().invoke(main, ["examples", event, "--definitions", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    found: dict[str, str] = {}
    for block in result.output.split("==> ")[1:]:
        title, _, code = block.partition("\n")
        found[title] = code
    return found


@pytest.mark.parametrize("event", EVENTS)
def test_every_python_snippet_parses(event: str) -> None:
    found = snippets(event)
    for title in PYTHON:
        ast.parse(found[title], filename=title)


def test_every_kind_of_snippet_is_printed() -> None:
    found = snippets("merge_merge_request")
    assert list(found) == [
        "Backend call",
        "Mixin (InternalEventsTracking)",
        "Decorated function",
        "Events API (otel-internal-events serve)",
        "Browser (InternalEvents.trackEvent)",
        "HTML (data-event-* attributes)",
        "Test (pytest, with our matchers)",
    ]
    assert "/api/v4/usage_data/track_event" in found["Events API (otel-internal-events serve)"]
    assert "InternalEvents.trackEvent('merge_merge_request', {" in found["Browser (InternalEvents.trackEvent)"]
    assert "merge_strategy: 'string'," in found["Browser (InternalEvents.trackEvent)"]


def stand_ins() -> dict[str, Any]:
    return {
        "user": SimpleNamespace(id=1),
        "project": SimpleNamespace(id=7, namespace=SimpleNamespace(id=1007)),
        "namespace": SimpleNamespace(id=1007),
    }


def tracked(points: Callable[[str], dict[Any, Any]], event: str) -> int | float:
    return sum(v for k, v in points("internal_events.tracked").items() if dict(k).get("event") == event)


@pytest.mark.parametrize("event", EVENTS)
def test_the_backend_mixin_and_decorated_calls_track_in_strict_mode(
    event: str, configure: Any, points: Callable[[str], dict[Any, Any]]
) -> None:
    configure()
    found = snippets(event)
    names = stand_ins()
    exec(found["Backend call"], dict(names))
    mixin: dict[str, Any] = {}
    exec(found["Mixin (InternalEventsTracking)"], mixin)
    definition = load_definitions(SHIPPED).events[event]
    arguments = [names[n] for n in ("user", "project", "namespace") if n in definition.identifiers]
    if "project" in definition.identifiers and "namespace" in definition.identifiers:
        arguments.pop()
    mixin["ExampleService"]().execute(*arguments)
    decorated: dict[str, Any] = {}
    exec(found["Decorated function"], decorated)
    values = {"string": "string", "number": 42, "any": "string"}
    keywords = {name: values[p.type] for name, p in definition.additional_properties.items()}
    decorated[event](*arguments, **keywords)
    assert tracked(points, event) == 3


@pytest.mark.parametrize("event", ["merge_merge_request", "create_merge_request", "view_merge_request_dashboard"])
def test_the_html_attributes_track_the_event(event: str, configure: Any) -> None:
    configure()
    definition = load_definitions(SHIPPED).events[event]
    html = snippets(event)["HTML (data-event-* attributes)"]
    properties = {"string": "string", "number": 42, "any": "string"}
    expected = {name: properties[p.type] for name, p in definition.additional_properties.items()}
    trigger_internal_events(event).with_(additional_properties=expected).in_html(html)


def test_the_pytest_example_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_INTERNAL_EVENTS_") or name == "REDIS_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("OTEL_INTERNAL_EVENTS_REDIS_URL", redis_url)
    pytester.makefile(
        ".ini",
        pytest=f"[pytest]\ninternal_events_definitions = {SHIPPED}\nasyncio_default_fixture_loop_scope = function\n",
    )
    tests = [
        snippets(event)["Test (pytest, with our matchers)"] for event in ("merge_merge_request", "view_repository_file")
    ]
    pytester.makepyfile(test_generated_examples=textwrap.dedent("\n\n".join(tests)))
    result = pytester.runpytest_inprocess(*INNER_OPTIONS)
    result.assert_outcomes(passed=2)


def test_an_unknown_event_exits_1_with_a_suggestion() -> None:
    result = CliRunner().invoke(main, ["examples", "merge_merge_reqest", "--definitions", str(SHIPPED)])
    assert result.exit_code == 1
    assert "unknown event" in result.output
    assert "did you mean 'merge_merge_request'" in result.output


@pytest.mark.parametrize("event", EVENTS)
def test_the_browser_call_would_validate(event: str, configure: Any, points: Callable[[str], dict[Any, Any]]) -> None:
    """The browser sends the event and properties of its trackEvent call, with the page's ids."""
    configure()
    code = snippets(event)["Browser (InternalEvents.trackEvent)"]
    called = re.search(r"InternalEvents\.trackEvent\('([a-z0-9_]+)'(?:, \{\n(.*?)\})?\);", code, re.S)
    assert called is not None, code
    properties = {
        name: json.loads(value.replace("'", '"'))
        for name, value in re.findall(r"^  (\w+): (.+),$", called.group(2) or "", re.M)
    }
    definition = load_definitions(SHIPPED).events[event]
    names = stand_ins()
    identifiers = {name: names[name] for name in ("user", "project", "namespace") if name in definition.identifiers}
    oie.track_internal_event(called.group(1), additional_properties=properties, **identifiers)
    assert tracked(points, event) == 1
