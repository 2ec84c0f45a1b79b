"""Flask: track an internal event after a view's successful response.

::

    from flask import Flask, g
    from otel_internal_events.flask import InternalEventsFlask, tracks_internal_event

    app = Flask(__name__)
    InternalEventsFlask(app, user=lambda request: g.user, project=lambda request: g.project)

    @app.get("/<path:path>")
    @tracks_internal_event("view_repository_file", additional_properties={"label": "rendered"})
    def show(path): ...

The event is tracked once the view returned a 2xx or 3xx response (a streaming one included,
before its body is sent), never when it raises or aborts. Class-based views declare their
events by method with :class:`InternalEventsMixin`. Needs the ``flask`` extra.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, ParamSpec, TypeVar, Unpack, cast

from .errors import MissingExtraError

try:
    import flask
except ImportError:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError("otel_internal_events.flask", "flask", "flask") from None

from ._web import RequestHook, Resolvers, ViewEvent, ViewOptions, events_by_method, view_event

__all__ = [
    "InternalEventsFlask",
    "InternalEventsMixin",
    "RequestHook",
    "ViewEvent",
    "tracks_internal_event",
    "view_event",
]

#: The key of :class:`InternalEventsFlask` in ``app.extensions``.
EXTENSION = "otel_internal_events"

P = ParamSpec("P")
R = TypeVar("R")


class InternalEventsFlask:
    """Where the views of an app find the request's user, project and namespace.

    Each resolver is called with ``flask.request`` and returns an object with an ``id``, a plain
    id, or None. ``init_app`` supports the application factory pattern.
    """

    def __init__(
        self,
        app: flask.Flask | None = None,
        *,
        user: RequestHook | None = None,
        project: RequestHook | None = None,
        namespace: RequestHook | None = None,
    ) -> None:
        self.resolvers = Resolvers(user=user, project=project, namespace=namespace)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        """Register the resolvers on ``app``."""
        app.extensions[EXTENSION] = self


def tracks_internal_event(
    event: str,
    **options: Unpack[ViewOptions],
) -> Callable[[Callable[P, R]], Callable[P, flask.Response]]:
    """Decorate a view (sync or async) to track ``event`` after a successful response.

    ``conditions`` (callables over the request) must all be true; ``user``, ``project`` and
    ``namespace`` override the app's resolvers for this view.
    """
    spec = view_event(event, **options)

    def decorate(view: Callable[P, R]) -> Callable[P, flask.Response]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(*args: P.args, **kwargs: P.kwargs) -> flask.Response:
                return _tracked(spec, await cast(Any, view)(*args, **kwargs))

            return cast(Callable[P, flask.Response], async_view)

        @functools.wraps(view)
        def sync_view(*args: P.args, **kwargs: P.kwargs) -> flask.Response:
            return _tracked(spec, view(*args, **kwargs))

        return sync_view

    return decorate


class InternalEventsMixin:
    """A class-based view mixin: ``internal_events`` maps HTTP methods to events.

    ::

        class FileView(InternalEventsMixin, MethodView):
            internal_events = {"get": "view_repository_file",
                               "post": view_event("create_merge_request", conditions=is_web)}
    """

    #: HTTP method (any case) -> an event name or a :class:`ViewEvent`.
    internal_events: ClassVar[Mapping[str, str | ViewEvent]] = {}
    _events_by_method: ClassVar[dict[str, ViewEvent]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._events_by_method = events_by_method(cls.internal_events)

    def dispatch_request(self, *args: Any, **kwargs: Any) -> Any:
        """The view's response, with its event tracked when it succeeded."""
        result = super().dispatch_request(*args, **kwargs)  # type: ignore[misc]
        spec = self._events_by_method.get(flask.request.method.lower())
        return result if spec is None else _tracked(spec, result)


def _tracked(spec: ViewEvent, result: Any) -> flask.Response:
    response = flask.current_app.make_response(result)
    extension = flask.current_app.extensions.get(EXTENSION)
    resolvers = extension.resolvers if isinstance(extension, InternalEventsFlask) else Resolvers()
    spec.track(flask.request, response.status_code, resolvers)
    return response
