"""otel-internal-events: GitLab-style Internal Events on OpenTelemetry.

Define events and metrics in YAML, call :func:`track_internal_event`, read metric values.

The process-wide state is one current :class:`Runtime`: :func:`configure` builds one and makes it
current (shutting the previous one down), :func:`get_runtime` returns it (configuring one from
the environment on first use), :func:`configured` returns it without configuring,
:func:`disabled_reason` says why tracking is off after an automatic configuration failed,
:func:`activate` switches between runtimes kept alive, :func:`shutdown` stops it and
:func:`reset` also forgets a failed configuration (for tests).

The names below are imported on first use, so that ``import otel_internal_events`` (and the
pytest plugin that every test session of an installing project loads) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes
from .errors import (
    ConfigurationError,
    DefinitionError,
    DefinitionsInvalidError,
    InternalEventsError,
    InvalidPropertyError,
    InvalidPropertyTypeError,
    InvalidPropertyValueError,
    MissingIdentifierError,
    TrackingError,
    UnknownEventError,
    UnknownMetricError,
)

if TYPE_CHECKING:
    from ._api import (
        InternalEvents,
        InternalEventsTracking,
        flush,
        metric_value,
        report,
        track_internal_event,
        with_batched_redis_writes,
    )
    from ._api_helpers import set_id_lookup, track_event
    from ._decorators import tracks_internal_event
    from ._runtime import Runtime
    from ._state import (
        activate,
        configure,
        configured,
        disabled_reason,
        get_runtime,
        reset,
        shutdown,
    )
    from .config import Settings

_LAZY = {
    "InternalEvents": "._api",
    "InternalEventsTracking": "._api",
    "flush": "._api",
    "metric_value": "._api",
    "report": "._api",
    "track_internal_event": "._api",
    "with_batched_redis_writes": "._api",
    "set_id_lookup": "._api_helpers",
    "track_event": "._api_helpers",
    "tracks_internal_event": "._decorators",
    "Runtime": "._runtime",
    "activate": "._state",
    "configure": "._state",
    "configured": "._state",
    "disabled_reason": "._state",
    "get_runtime": "._state",
    "reset": "._state",
    "shutdown": "._state",
    "Settings": ".config",
}

__all__ = [
    "ConfigurationError",
    "DefinitionError",
    "DefinitionsInvalidError",
    "InternalEvents",
    "InternalEventsError",
    "InternalEventsTracking",
    "InvalidPropertyError",
    "InvalidPropertyTypeError",
    "InvalidPropertyValueError",
    "MissingIdentifierError",
    "Runtime",
    "Settings",
    "TrackingError",
    "UnknownEventError",
    "UnknownMetricError",
    "activate",
    "configure",
    "configured",
    "disabled_reason",
    "flush",
    "get_runtime",
    "metric_value",
    "report",
    "reset",
    "set_id_lookup",
    "shutdown",
    "track_event",
    "track_internal_event",
    "tracks_internal_event",
    "with_batched_redis_writes",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
