"""What the web framework helpers share: the event a view tracks, its hooks, and when it counts.

A view's event is tracked after a successful response only (status 2xx or 3xx), as GitLab's
controller helper runs after the action: never when the view raises or answers with an error
status. A streaming response counts once its status is known, before its body is sent.

Hooks are the application's code: resolvers (GitLab's ``tracking_project_source`` and
``tracking_namespace_source``: where a request's user, project and namespace come from),
conditions and additional properties, each a callable over the request. A hook that raises is
a tracking failure: in production it is logged once and counted in
``internal_events.rejected{event, reason="hook_error"}`` and the event is dropped, the response
untouched; in strict mode it raises a :class:`~otel_internal_events.TrackingError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, Unpack

from ._api import track_internal_event
from ._state import get_runtime
from .errors import TrackingError

__all__ = [
    "HOOK_ERROR",
    "RequestHook",
    "Resolvers",
    "ViewEvent",
    "ViewOptions",
    "events_by_method",
    "succeeded",
    "view_event",
]

#: The ``reason`` of ``internal_events.rejected`` when a hook raised.
HOOK_ERROR = "hook_error"


class RequestHook(Protocol):
    """A callable over the framework's request: a resolver, a condition, or properties."""

    def __call__(self, request: Any, /) -> Any: ...


@dataclass(frozen=True)
class Resolvers:
    """Where a request's user, project and namespace come from, set once per application.

    Each is a callable over the request returning an object with an ``id``, a plain id, or
    None. A view's own ``user=``/``project=``/``namespace=`` take precedence.
    """

    user: RequestHook | None = None
    project: RequestHook | None = None
    namespace: RequestHook | None = None


def succeeded(status: int) -> bool:
    """True for the statuses that track: 2xx and 3xx."""
    return 200 <= status < 400


@dataclass(frozen=True)
class ViewEvent:
    """One event a view tracks after a successful response; build it with :func:`view_event`.

    ``conditions`` must all be true for the request; ``additional_properties`` is a mapping or
    a callable over the request returning one.
    """

    name: str
    conditions: tuple[RequestHook, ...] = ()
    additional_properties: Mapping[str, Any] | RequestHook | None = None
    user: RequestHook | None = None
    project: RequestHook | None = None
    namespace: RequestHook | None = None
    category: str | None = None
    send_snowplow_event: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"an event name is a non-empty string, got {self.name!r}")

    def track(self, request: Any, status: int, resolvers: Resolvers) -> None:
        """Track this event for ``request`` if ``status`` succeeded and every condition holds."""
        if not succeeded(status):
            return
        hook = "conditions"
        try:
            for condition in self.conditions:
                if not condition(request):
                    return
            identifiers: dict[str, Any] = {}
            for hook, own, default in (
                ("user", self.user, resolvers.user),
                ("project", self.project, resolvers.project),
                ("namespace", self.namespace, resolvers.namespace),
            ):
                resolver = own if own is not None else default
                identifiers[hook] = None if resolver is None else resolver(request)
            hook = "additional_properties"
            properties = self.additional_properties
            if callable(properties):
                properties = properties(request)
        except Exception as exc:
            _hook_failed(self.name, hook, exc)
            return
        track_internal_event(
            self.name,
            additional_properties=properties,
            category=self.category,
            send_snowplow_event=self.send_snowplow_event,
            **identifiers,
        )


class ViewOptions(TypedDict, total=False):
    """The options of a view's event, as every framework's decorator takes them (see :class:`ViewEvent`)."""

    conditions: RequestHook | Iterable[RequestHook]
    additional_properties: Mapping[str, Any] | RequestHook | None
    user: RequestHook | None
    project: RequestHook | None
    namespace: RequestHook | None
    category: str | None
    send_snowplow_event: bool


def view_event(event: str | ViewEvent, **options: Unpack[ViewOptions]) -> ViewEvent:
    """A :class:`ViewEvent`; ``conditions`` is one callable or several. A ViewEvent is kept."""
    if isinstance(event, ViewEvent):
        return event
    conditions = options.get("conditions", ())
    return ViewEvent(
        event,
        conditions=(conditions,) if callable(conditions) else tuple(conditions),
        additional_properties=options.get("additional_properties"),
        user=options.get("user"),
        project=options.get("project"),
        namespace=options.get("namespace"),
        category=options.get("category"),
        send_snowplow_event=options.get("send_snowplow_event", True),
    )


def events_by_method(declared: Mapping[str, str | ViewEvent]) -> dict[str, ViewEvent]:
    """A class-based view's ``internal_events``, by lower-case HTTP method."""
    return {method.lower(): view_event(event) for method, event in declared.items()}


def _hook_failed(event: str, hook: str, exc: Exception) -> None:
    problem = TrackingError(event, hook, f"the {hook} hook raised {exc!r}")
    runtime = get_runtime()
    if runtime is None:
        return
    runtime.tracker.fail(problem, HOOK_ERROR, exc)
