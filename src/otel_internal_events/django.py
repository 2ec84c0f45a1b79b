"""Django: track an internal event after a view's successful response.

::

    from otel_internal_events.django import InternalEventsMixin, tracks_internal_event

    @tracks_internal_event("view_repository_file", additional_properties={"label": "rendered"})
    def show(request, path): ...

    class ArchiveView(InternalEventsMixin, View):
        internal_events = {"get": "download_repository_archive"}

The event is tracked once the view returned a 2xx or 3xx response (a streaming one included,
before its body is sent), never when it raises. The user is ``request.user`` when
authenticated; the ``OTEL_INTERNAL_EVENTS_RESOLVERS`` setting names other resolvers by dotted
path (GitLab's ``tracking_project_source``)::

    OTEL_INTERNAL_EVENTS_RESOLVERS = {"project": "forge.tracking.current_project"}

Needs the ``django`` extra.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, ParamSpec, Unpack, cast

from .errors import ConfigurationError, MissingExtraError

try:
    from django.conf import settings  # type: ignore[import-untyped]  # Django ships no type hints
    from django.http import HttpResponseBase  # type: ignore[import-untyped]  # Django ships no type hints
    from django.utils.module_loading import import_string  # type: ignore[import-untyped]  # Django ships no type hints
except ImportError:  # pragma: no cover - depends on the installed extras
    raise MissingExtraError("otel_internal_events.django", "django", "django") from None

from ._web import RequestHook, Resolvers, ViewEvent, ViewOptions, events_by_method, view_event

__all__ = [
    "RESOLVERS_SETTING",
    "InternalEventsMixin",
    "RequestHook",
    "ViewEvent",
    "authenticated_user",
    "tracks_internal_event",
    "view_event",
]

#: The setting that maps ``user``, ``project`` and ``namespace`` to resolvers' dotted paths.
RESOLVERS_SETTING = "OTEL_INTERNAL_EVENTS_RESOLVERS"

P = ParamSpec("P")


def authenticated_user(request: Any) -> Any:
    """The default user resolver: ``request.user`` when authenticated, else None."""
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


def tracks_internal_event(
    event: str,
    **options: Unpack[ViewOptions],
) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Decorate a function view (sync or async) to track ``event`` after a successful response.

    ``conditions`` (callables over the request) must all be true; ``user``, ``project`` and
    ``namespace`` override the resolvers of the settings for this view.
    """
    spec = view_event(event, **options)

    def decorate(view: Callable[P, Any]) -> Callable[P, Any]:
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
                response: HttpResponseBase = await view(*args, **kwargs)
                _track(spec, args[0], response)
                return response

            return async_view

        @functools.wraps(view)
        def sync_view(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            response: HttpResponseBase = view(*args, **kwargs)
            _track(spec, args[0], response)
            return response

        return sync_view

    return decorate


class InternalEventsMixin:
    """A class-based view mixin: ``internal_events`` maps HTTP methods to events.

    Works with sync and async views::

        class FileView(InternalEventsMixin, DetailView):
            internal_events = {"get": view_event("view_repository_file", conditions=is_rendered)}
    """

    #: HTTP method (any case) -> an event name or a :class:`ViewEvent`.
    internal_events: ClassVar[Mapping[str, str | ViewEvent]] = {}
    _events_by_method: ClassVar[dict[str, ViewEvent]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._events_by_method = events_by_method(cls.internal_events)

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """The view's response, with its event tracked when it succeeded."""
        response = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        spec = self._events_by_method.get(request.method.lower())
        if spec is None:
            return response
        if inspect.isawaitable(response):
            return _track_later(spec, request, response)
        _track(spec, request, response)
        return response


async def _track_later(spec: ViewEvent, request: Any, pending: Awaitable[HttpResponseBase]) -> HttpResponseBase:
    response = await pending
    _track(spec, request, response)
    return response


def _track(spec: ViewEvent, request: Any, response: HttpResponseBase) -> None:
    spec.track(request, response.status_code, _resolvers())


def _resolvers() -> Resolvers:
    paths = getattr(settings, RESOLVERS_SETTING, None) or {}
    if not isinstance(paths, Mapping) or not set(paths) <= {"user", "project", "namespace"}:
        raise ConfigurationError(f"{RESOLVERS_SETTING} maps 'user', 'project', 'namespace' to dotted paths: {paths!r}")
    hooks = {name: cast(RequestHook, import_string(path)) for name, path in paths.items()}
    hooks.setdefault("user", authenticated_user)
    return Resolvers(**hooks)
