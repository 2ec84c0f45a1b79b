"""Recording: OpenTelemetry API only (log record, span event, counter)."""

from ._recorder import Attributes, EventRecorder

__all__ = ["Attributes", "EventRecorder"]
