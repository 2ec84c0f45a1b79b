"""``track_event``: GitLab's API helper, which takes a project and a namespace by id.

GitLab's ``API::Helpers::InternalEventsHelpers#track_event`` finds the project and the
namespace from their ids, and tracks nothing without a user. The finding is the application's
business here: :func:`set_id_lookup` registers how an id becomes an object (a database query,
a cache). This module owns that one process-wide setting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._state import get_runtime
from .errors import TrackingError

__all__ = ["set_id_lookup", "track_event"]

IdLookup = Callable[[Any], Any]

_lookups: dict[str, IdLookup] = {}
_lock = threading.Lock()


def set_id_lookup(*, project: IdLookup | None = None, namespace: IdLookup | None = None) -> None:
    """How :func:`track_event` turns ``project_id`` and ``namespace_id`` into objects.

    Each lookup takes an id and returns the object (with an ``id``; a project's ``namespace``
    is then used when no namespace id is given), or ``None`` when there is none. A lookup not
    given is removed: its ids are then tracked as they are. ``set_id_lookup()`` removes both.

    .. versionadded:: 0.2.0
    """
    with _lock:
        _lookups.clear()
        if project is not None:
            _lookups["project"] = project
        if namespace is not None:
            _lookups["namespace"] = namespace


def track_event(
    event: str,
    *,
    user: Any = None,
    namespace_id: Any = None,
    project_id: Any = None,
    additional_properties: Mapping[str, Any] | None = None,
    send_snowplow_event: bool = True,
) -> None:
    """Track ``event`` from an API endpoint, as GitLab's API helper does.

    Without a ``user`` nothing is tracked. ``project_id`` and ``namespace_id`` go through the
    lookups of :func:`set_id_lookup` (without one, the id itself is the identifier). A lookup
    that raises is a tracking failure: in production it is logged once and counted in
    ``internal_events.rejected`` with the reason ``lookup_error`` and the event is tracked
    without that identifier; in strict mode it raises a
    :class:`~otel_internal_events.errors.TrackingError`.

    .. versionadded:: 0.2.0
    """
    if user is None:
        return
    runtime = get_runtime()
    if runtime is None:
        return
    project = _look_up(runtime, event, "project", project_id)
    namespace = _look_up(runtime, event, "namespace", namespace_id)
    runtime.tracker.track(
        event,
        user=user,
        project=project,
        namespace=namespace,
        additional_properties=additional_properties,
        send_snowplow_event=send_snowplow_event,
    )


def _look_up(runtime: Any, event: str, identifier: str, given: Any) -> Any:
    lookup = _lookups.get(identifier)
    if given is None or lookup is None:
        return given
    try:
        return lookup(given)
    except Exception as exc:
        problem = TrackingError(event, f"{identifier}_id", f"the {identifier} lookup raised {exc!r}")
        runtime.tracker.fail(problem, "lookup_error", exc)
        return None
