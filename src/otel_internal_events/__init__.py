"""otel-internal-events: GitLab-style Internal Events on OpenTelemetry.

Define events and metrics in YAML, call :func:`track_internal_event`, read metric values.

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
    from ._pipeline import configure, shutdown
    from .config import Settings

_LAZY = {
    "InternalEvents": "._api",
    "InternalEventsTracking": "._api",
    "flush": "._api",
    "metric_value": "._api",
    "report": "._api",
    "track_internal_event": "._api",
    "with_batched_redis_writes": "._api",
    "configure": "._pipeline",
    "shutdown": "._pipeline",
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
    "Settings",
    "TrackingError",
    "UnknownEventError",
    "UnknownMetricError",
    "configure",
    "flush",
    "metric_value",
    "report",
    "shutdown",
    "track_internal_event",
    "with_batched_redis_writes",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY, __all__)
