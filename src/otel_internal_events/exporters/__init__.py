"""OpenTelemetry exporters and the analytics log record processor that feed the sinks."""

from ._handoff import AnalyticsLoggerProvider, CheckedLogRecord, DirectLogger
from ._jsonl import JSON_LINE_TIME, JsonLinesExporter, json_line
from ._losses import ExportLosses
from ._processor import AnalyticsLogRecordProcessor, FanOutExporter, batch_scope
from ._redis import RedisCounterExporter, decode_records
from ._snowplow import SnowplowExporter
from ._snowplow_child import event_id

__all__ = [
    "JSON_LINE_TIME",
    "AnalyticsLogRecordProcessor",
    "AnalyticsLoggerProvider",
    "CheckedLogRecord",
    "DirectLogger",
    "ExportLosses",
    "FanOutExporter",
    "JsonLinesExporter",
    "RedisCounterExporter",
    "SnowplowExporter",
    "batch_scope",
    "decode_records",
    "event_id",
    "json_line",
]
