"""otel-internal-events: GitLab-style Internal Events on OpenTelemetry.

Define events and metrics in YAML, call :func:`track_internal_event`, read metric values.
"""

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
from .errors import (
    ConfigurationError,
    DefinitionError,
    DefinitionsInvalidError,
    InternalEventsError,
    InvalidPropertyError,
    InvalidPropertyTypeError,
    MissingIdentifierError,
    TrackingError,
    UnknownEventError,
    UnknownMetricError,
)

__all__ = [
    "ConfigurationError",
    "DefinitionError",
    "DefinitionsInvalidError",
    "InternalEvents",
    "InternalEventsError",
    "InternalEventsTracking",
    "InvalidPropertyError",
    "InvalidPropertyTypeError",
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
