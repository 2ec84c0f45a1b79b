"""Every name we put on OpenTelemetry data: the wire contract.

The recorder writes these attributes on each event's log record (and span event); the
exporters and the gateway read exactly these back. Tests import the names from here.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ATTRIBUTE_PREFIX",
    "CATEGORY",
    "DROPPED_COUNTER",
    "EVENT_NAME",
    "EXPORT_FAILED_COUNTER",
    "FEATURE_ENABLED_BY_NAMESPACE_IDS",
    "INSTRUMENTATION_SCOPE",
    "NAMESPACE_ID",
    "PROJECT_ID",
    "PROPERTY_PREFIX",
    "REJECTED_COUNTER",
    "SEND_SNOWPLOW",
    "TRACKED_COUNTER",
    "USER_ID",
]

#: Instrumentation scope (logger and meter name) of everything we emit.
INSTRUMENTATION_SCOPE: Final = "otel_internal_events"

ATTRIBUTE_PREFIX: Final = "internal_events."
#: The event name, also set as the log record's ``event_name``.
EVENT_NAME: Final = "internal_events.event"
#: Snowplow category: the tracking class name, the caller's category, or absent.
CATEGORY: Final = "internal_events.category"
USER_ID: Final = "internal_events.user.id"
PROJECT_ID: Final = "internal_events.project.id"
NAMESPACE_ID: Final = "internal_events.namespace.id"
FEATURE_ENABLED_BY_NAMESPACE_IDS: Final = "internal_events.feature_enabled_by_namespace_ids"
#: False when the caller passed ``send_snowplow_event=False``; absent means true.
SEND_SNOWPLOW: Final = "internal_events.send_snowplow"
#: Each declared additional property ``x`` travels as ``internal_events.property.x``.
PROPERTY_PREFIX: Final = "internal_events.property."

#: Counter of events recorded, attribute ``event``.
TRACKED_COUNTER: Final = "internal_events.tracked"
#: Counter of calls rejected in whole or in part, attributes ``event`` and ``reason``.
REJECTED_COUNTER: Final = "internal_events.rejected"
#: Counter of records dropped before export (queue full, shutdown), attribute ``reason``.
DROPPED_COUNTER: Final = "internal_events.export.dropped"
#: Counter of records whose export failed for good, attributes ``exporter`` and ``reason``.
EXPORT_FAILED_COUNTER: Final = "internal_events.export.failed"
