"""``@tracks_internal_event`` on functions, methods, generators and coroutines, against the real
pipeline and Redis."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_internal_events as oie
from otel_internal_events.testing import not_trigger_internal_events, trigger_internal_events

from .conftest import NEXT_WEEK, Project, User, value

SHIPPED_DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
MERGES = "counts.count_total_merge_merge_request"
LINES = "counts.sum_value_from_merge_merge_request"
SQUASHES = "counts.count_total_squash_merges"
AUTHORS = "redis_hll_counters.count_distinct_user_id_from_create_merge_request_weekly"
PROJECTS = "redis_hll_counters.count_distinct_project_id_from_create_merge_request_weekly"
Points = Callable[[str], dict[tuple[tuple[str, Any], ...], int | float]]


class MergeRequest:
    def __init__(self, author: User, project: Project, lines: int = 10) -> None:
        self.author = author
        self.project = project
        self.lines = lines


def rejected(points: Points, event: str, reason: str) -> int | float:
    return points("internal_events.rejected").get((("event", event), ("reason", reason)), 0)


def test_a_function_is_tracked_once_per_successful_call(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("create_merge_request", user="author", project="project")
    def open_merge_request(author: User, project: Project, title: str) -> str:
        return title.upper()

    assert open_merge_request(User(1), Project(7), "fix") == "FIX"
    assert open_merge_request(User(2), project=Project(8), title="add") == "ADD"
    assert value(AUTHORS, NEXT_WEEK) == 2
    assert value(PROJECTS, NEXT_WEEK) == 2


def test_a_function_that_raises_is_not_tracked(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user")
    def merge(user: User) -> None:
        raise RuntimeError("conflict")

    with pytest.raises(RuntimeError, match="conflict"):
        merge(User(1))
    assert value(MERGES) == 0


def test_on_error_tracks_the_failed_call_and_re_raises(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", on_error=True)
    def merge(user: User) -> None:
        raise RuntimeError("conflict")

    with pytest.raises(RuntimeError, match="conflict"):
        merge(User(1))
    assert value(MERGES) == 1


def test_attribute_paths_read_attributes_and_keys_of_arguments(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event(
        "merge_merge_request",
        user="request.user",
        project="mr.project",
        additional_properties={"value": "mr.lines", "merge_strategy": "options.strategy"},
    )
    def merge(request: Any, mr: MergeRequest, options: dict[str, str]) -> None:
        pass

    request = type("Request", (), {"user": User(1)})()
    with trigger_internal_events("merge_merge_request").with_(
        user=1, project=7, namespace=1000, additional_properties={"value": 25, "merge_strategy": "squash"}
    ):
        merge(request, MergeRequest(User(2), Project(7), lines=25), {"strategy": "squash"})
    assert value(LINES) == 25
    assert value(SQUASHES) == 1


def test_a_none_along_a_path_gives_no_identifier(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="request.user.id")
    def merge(request: Any) -> None:
        pass

    with trigger_internal_events("merge_merge_request").with_(user=None):
        merge(type("Request", (), {"user": None})())


def test_identifiers_and_properties_resolve_from_the_return_value(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event(
        "merge_merge_request",
        user="return.author",
        project=lambda arguments, result: result.project,
        additional_properties={"value": "return.lines", "label": "web"},
    )
    def merge(title: str) -> MergeRequest:
        return MergeRequest(User(3), Project(9), lines=40)

    with trigger_internal_events("merge_merge_request").with_(
        user=3, project=9, namespace=1000, additional_properties={"value": 40, "label": "web"}
    ):
        merge("refactor")
    assert value(LINES) == 40


def test_callables_receive_every_argument_with_defaults(configure: Any) -> None:
    configure()
    seen: list[dict[str, Any]] = []

    def properties(arguments: dict[str, Any], result: Any) -> dict[str, Any]:
        seen.append(dict(arguments))
        return {"value": arguments["lines"], "merge_strategy": arguments["strategy"]}

    @oie.tracks_internal_event("merge_merge_request", user="user", additional_properties=properties)
    def merge(user: User, lines: int, *, strategy: str = "squash") -> None:
        pass

    merge(User(1), 5)
    assert seen == [{"user": seen[0]["user"], "lines": 5, "strategy": "squash"}]
    assert value(SQUASHES) == 1


def test_functions_with_star_arguments_bind_too(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", additional_properties={"value": "lines"})
    def merge(user: User, *mrs: MergeRequest, lines: int = 3, **options: Any) -> None:
        pass

    merge(User(1), MergeRequest(User(1), Project(1)), fast=True)
    assert value(LINES) == 3


def test_a_method_resolves_from_self(configure: Any) -> None:
    configure()

    class MergeService:
        def __init__(self, user: User, project: Project) -> None:
            self.user = user
            self.project = project

        @oie.tracks_internal_event("merge_merge_request", user="self.user", project="self.project")
        def execute(self) -> str:
            return "merged"

    with trigger_internal_events("merge_merge_request").with_(user=4, project=2, namespace=1000):
        assert MergeService(User(4), Project(2)).execute() == "merged"
    assert MergeService.execute.__name__ == "execute"


def test_a_generator_is_tracked_once_when_exhausted(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", additional_properties={"value": "return"})
    def merge_in_steps(user: User) -> Iterator[str]:
        yield "rebase"
        yield "merge"
        return 12

    steps = merge_in_steps(User(1))
    assert next(steps) == "rebase"
    assert value(MERGES) == 0
    assert list(steps) == ["merge"]
    assert value(MERGES) == 1
    assert value(LINES) == 12


def test_a_generator_closed_early_is_not_tracked(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user")
    def merge_in_steps(user: User) -> Iterator[str]:
        yield "rebase"
        yield "merge"

    steps = merge_in_steps(User(1))
    next(steps)
    steps.close()
    assert value(MERGES) == 0


def test_a_generator_passes_sent_and_thrown_values_through(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", on_error=True)
    def echo(user: User) -> Iterator[Any]:
        received = yield "ready"
        try:
            yield received * 2
        except KeyError:
            yield "handled"

    steps = echo(User(1))
    assert next(steps) == "ready"
    assert steps.send(21) == 42
    assert steps.throw(KeyError("x")) == "handled"
    with pytest.raises(StopIteration):
        next(steps)
    assert value(MERGES) == 1


@pytest.mark.asyncio
async def test_a_coroutine_is_tracked_after_it_is_awaited(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("create_merge_request", user="author", project="project")
    async def open_merge_request(author: User, project: Project) -> str:
        return "opened"

    coroutine = open_merge_request(User(1), Project(7))
    assert value(AUTHORS, NEXT_WEEK) == 0
    assert await coroutine == "opened"
    assert value(AUTHORS, NEXT_WEEK) == 1


@pytest.mark.asyncio
async def test_a_failing_coroutine_is_tracked_only_with_on_error(configure: Any) -> None:
    configure()

    async def fail(user: User) -> None:
        raise ValueError("no")

    silent = oie.tracks_internal_event("merge_merge_request", user="user")(fail)
    counted = oie.tracks_internal_event("merge_merge_request", user="user", on_error=True)(fail)
    for call in (silent, counted):
        with pytest.raises(ValueError, match="no"):
            await call(User(1))
    assert value(MERGES) == 1


@pytest.mark.asyncio
async def test_an_async_generator_is_tracked_when_exhausted(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user")
    async def stream(user: User) -> AsyncIterator[int]:
        for chunk in range(3):
            yield chunk

    chunks = stream(User(1))
    assert await chunks.__anext__() == 0
    assert value(MERGES) == 0
    assert [chunk async for chunk in chunks] == [1, 2]
    assert value(MERGES) == 1


def test_false_conditions_track_nothing(configure: Any, points: Points) -> None:
    configure()

    @oie.tracks_internal_event(
        "merge_merge_request",
        user="user",
        conditions=[lambda arguments, result: arguments["user"].id > 0, lambda arguments, result: result == "merged"],
    )
    def merge(user: User, outcome: str) -> str:
        return outcome

    with not_trigger_internal_events("merge_merge_request"):
        merge(User(0), "merged")
        merge(User(1), "closed")
    with trigger_internal_events("merge_merge_request").once():
        merge(User(1), "merged")
    assert rejected(points, "merge_merge_request", "condition_error") == 0


def test_a_raising_condition_is_counted_in_production_and_the_call_goes_on(
    configure: Any, points: Points, caplog: pytest.LogCaptureFixture
) -> None:
    configure(strict=False)

    @oie.tracks_internal_event("merge_merge_request", user="user", conditions=lambda arguments, result: 1 / 0)
    def merge(user: User) -> str:
        return "merged"

    with caplog.at_level(logging.WARNING, logger="otel_internal_events"):
        assert merge(User(1)) == "merged"
        assert merge(User(1)) == "merged"
    assert value(MERGES) == 0
    assert rejected(points, "merge_merge_request", "condition_error") == 2
    assert [r.getMessage() for r in caplog.records if "ZeroDivisionError" in r.getMessage()] != []
    assert len([r for r in caplog.records if "ZeroDivisionError" in r.getMessage()]) == 1


def test_a_raising_condition_raises_in_strict_mode(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", conditions=lambda arguments, result: 1 / 0)
    def merge(user: User) -> str:
        return "merged"

    with pytest.raises(oie.TrackingError, match="a condition raised ZeroDivisionError") as raised:
        merge(User(1))
    assert isinstance(raised.value.__cause__, ZeroDivisionError)


def test_a_raising_resolver_is_counted_in_production(configure: Any, points: Points) -> None:
    configure(strict=False)

    @oie.tracks_internal_event("merge_merge_request", user="request.user")
    def merge(request: object) -> str:
        return "merged"

    assert merge(object()) == "merged"
    assert rejected(points, "merge_merge_request", "resolver_error") == 1
    assert value(MERGES) == 0


def test_a_raising_resolver_raises_in_strict_mode(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="request.user")
    def merge(request: object) -> str:
        return "merged"

    with pytest.raises(oie.TrackingError, match="AttributeError"):
        merge(object())


def test_the_tracker_check_still_applies_to_each_call(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", additional_properties={"value": "lines"})
    def merge(user: User, lines: Any) -> None:
        pass

    with pytest.raises(oie.InvalidPropertyTypeError):
        merge(User(1), "many")


def test_span_wraps_the_call_and_holds_the_event(configure: Any, finished_spans: InMemorySpanExporter) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", span=True)
    def merge(user: User) -> str:
        return "merged"

    assert merge(User(1)) == "merged"
    (span,) = finished_spans.get_finished_spans()
    assert span.name == merge.__qualname__
    assert [event.name for event in span.events] == ["merge_merge_request"]


@pytest.mark.asyncio
async def test_span_wraps_a_coroutine(configure: Any, finished_spans: InMemorySpanExporter) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", span=True)
    async def merge(user: User) -> str:
        return "merged"

    assert await merge(User(1)) == "merged"
    (span,) = finished_spans.get_finished_spans()
    assert span.name.endswith("merge")
    assert [event.name for event in span.events] == ["merge_merge_request"]


def test_span_is_current_in_each_step_of_a_generator_only(configure: Any, finished_spans: InMemorySpanExporter) -> None:
    configure()
    inside: list[int] = []

    @oie.tracks_internal_event("merge_merge_request", user="user", span=True)
    def steps(user: User) -> Iterator[int]:
        inside.append(trace.get_current_span().get_span_context().span_id)
        yield 1
        inside.append(trace.get_current_span().get_span_context().span_id)
        yield 2

    between = [trace.get_current_span().is_recording() for _ in steps(User(1))]
    (span,) = finished_spans.get_finished_spans()
    assert inside == [span.context.span_id, span.context.span_id]
    assert between == [False, False]
    assert [event.name for event in span.events] == ["merge_merge_request"]


def test_an_unknown_event_fails_when_decorating_in_strict_mode(configure: Any) -> None:
    configure()

    with pytest.raises(oie.UnknownEventError, match="merge_merge_requets"):

        @oie.tracks_internal_event("merge_merge_requets", user="user")
        def merge(user: User) -> None:
            pass


def test_an_undeclared_property_fails_when_decorating_in_strict_mode(configure: Any) -> None:
    configure()

    with pytest.raises(oie.InvalidPropertyError, match="colour"):

        @oie.tracks_internal_event("merge_merge_request", user="user", additional_properties={"colour": "red"})
        def merge(user: User) -> None:
            pass


def test_definition_problems_are_logged_once_when_decorating_in_production(
    configure: Any, caplog: pytest.LogCaptureFixture
) -> None:
    configure(strict=False)

    with caplog.at_level(logging.WARNING, logger="otel_internal_events"):

        @oie.tracks_internal_event("merge_merge_request", user="user", additional_properties={"colour": "red"})
        def merge(user: User) -> None:
            pass

        merge(User(1))
        merge(User(1))
    decorating = [r for r in caplog.records if r.getMessage().startswith("@tracks_internal_event")]
    assert len(decorating) == 1
    assert "colour" in decorating[0].getMessage()
    assert value(MERGES) == 2  # the undeclared property dropped, the event kept


def test_without_a_runtime_the_definitions_the_environment_names_are_checked_when_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oie.shutdown()
    monkeypatch.setenv("OTEL_INTERNAL_EVENTS_DEFINITIONS", str(SHIPPED_DEFINITIONS))
    monkeypatch.setenv("OTEL_INTERNAL_EVENTS_STRICT", "1")

    with pytest.raises(oie.UnknownEventError, match="merge_merge_requets"):

        @oie.tracks_internal_event("merge_merge_requets", user="user")
        def merge(user: User) -> None:
            pass

    assert oie.configured() is None  # checking built no runtime


def test_without_a_runtime_or_readable_definitions_the_check_waits_for_the_first_call(
    configure: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    oie.shutdown()
    monkeypatch.setenv("OTEL_INTERNAL_EVENTS_DEFINITIONS", str(tmp_path / "missing"))
    assert oie.configured() is None
    ran: list[str] = []

    @oie.tracks_internal_event("merge_merge_requets", user="user")
    def merge(user: User) -> None:
        ran.append("body")

    assert oie.configured() is None  # decorating configures nothing
    configure()
    with pytest.raises(oie.UnknownEventError):
        merge(User(1))


def test_a_string_identifier_that_is_not_a_path_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="usr"):

        @oie.tracks_internal_event("merge_merge_request", user="usr")
        def merge(user: User) -> None:
            pass


def test_a_string_property_that_is_not_a_path_is_a_plain_value(configure: Any) -> None:
    configure()

    @oie.tracks_internal_event("merge_merge_request", user="user", additional_properties={"merge_strategy": "squash"})
    def merge(user: User) -> None:
        pass

    merge(User(1))
    assert value(SQUASHES) == 1
