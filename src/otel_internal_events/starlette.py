"""Starlette and FastAPI: track an internal event after an endpoint's successful response.

::

    from fastapi import Depends, FastAPI
    from otel_internal_events.starlette import InternalEventsMiddleware, track_on_success, tracks_internal_event

    app = FastAPI()
    app.add_middleware(InternalEventsMiddleware, user=lambda request: request.state.user)

    @app.get("/files/{path}", dependencies=[Depends(track_on_success("view_repository_file"))])
    async def show(path: str): ...

    @app.get("/archive")
    @tracks_internal_event("download_repository_archive")
    async def archive(): ...

:class:`InternalEventsMiddleware` holds the app's resolvers and watches the response: an
endpoint's events are tracked when the response starts with a 2xx or 3xx status (for a
streaming response: before its body is sent), never when the endpoint raises or the response
is an error. Hooks are plain callables over the :class:`starlette.requests.Request`, run on
the event loop: keep them cheap (read ``request.state``). Needs the ``starlette`` extra (or
``fastapi``).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar, Unpack, cast

from .errors import ConfigurationError, MissingExtraError

try:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError("otel_internal_events.starlette", "starlette", "starlette") from None

from ._state import get_runtime
from ._warn_once import WarnOnce
from ._web import RequestHook, Resolvers, ViewEvent, ViewOptions, view_event

__all__ = [
    "InternalEventsMiddleware",
    "RequestHook",
    "ViewEvent",
    "track_on_success",
    "tracks_internal_event",
    "view_event",
]

P = ParamSpec("P")
R = TypeVar("R")

#: The events the endpoint of the current request asked for; set by the middleware.
_pending: ContextVar[list[ViewEvent] | None] = ContextVar("otel_internal_events_pending", default=None)
_once = WarnOnce(logging.getLogger("otel_internal_events"))


class InternalEventsMiddleware:
    """ASGI middleware: the app's resolvers, and tracking once the response status is known.

    Add it with ``app.add_middleware(InternalEventsMiddleware, user=..., project=...,
    namespace=...)``; each resolver is called with the request.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        user: RequestHook | None = None,
        project: RequestHook | None = None,
        namespace: RequestHook | None = None,
    ) -> None:
        self.app = app
        self.resolvers = Resolvers(user=user, project=project, namespace=namespace)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        pending: list[ViewEvent] = []

        async def send_tracking(message: Message) -> None:
            if message["type"] == "http.response.start" and pending:
                events = pending[:]
                pending.clear()
                request = Request(scope, receive)
                for event in events:
                    event.track(request, message["status"], self.resolvers)
            await send(message)

        token = _pending.set(pending)
        try:
            await self.app(scope, receive, send_tracking)
        finally:
            _pending.reset(token)


def track_on_success(
    event: str,
    **options: Unpack[ViewOptions],
) -> Callable[[], None]:
    """A FastAPI dependency: ``Depends(track_on_success("event"))`` tracks after a successful response.

    ``conditions`` (callables over the request) must all be true; ``user``, ``project`` and
    ``namespace`` override the middleware's resolvers for this route.
    """
    spec = view_event(event, **options)

    def track_internal_event_on_success() -> None:
        _expect(spec)

    return track_internal_event_on_success


def tracks_internal_event(
    event: str,
    **options: Unpack[ViewOptions],
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate an endpoint (Starlette or FastAPI, async or sync) to track ``event`` after a
    successful response; nothing is tracked when it raises. The signature is kept, so FastAPI
    sees the endpoint's own parameters."""
    spec = view_event(event, **options)

    def decorate(endpoint: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def async_endpoint(*args: P.args, **kwargs: P.kwargs) -> Any:
                result = await cast(Any, endpoint)(*args, **kwargs)
                _expect(spec)
                return result

            return cast(Callable[P, R], async_endpoint)

        @functools.wraps(endpoint)
        def sync_endpoint(*args: P.args, **kwargs: P.kwargs) -> R:
            result = endpoint(*args, **kwargs)
            _expect(spec)
            return result

        return sync_endpoint

    return decorate


def _expect(spec: ViewEvent) -> None:
    """Have the middleware track ``spec`` when the response starts."""
    pending = _pending.get()
    if pending is not None:
        pending.append(spec)
        return
    message = f"tracking '{spec.name}' after the response needs InternalEventsMiddleware on the app"
    runtime = get_runtime()
    if runtime is not None and runtime.tracker.strict:
        raise ConfigurationError(message)
    _once.warn(f"no-middleware\0{spec.name}", "%s: the event is not tracked", message)
