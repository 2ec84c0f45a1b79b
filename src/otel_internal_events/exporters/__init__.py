"""OpenTelemetry exporters and the analytics log record processor that feed the sinks."""

from ._processor import AnalyticsLogRecordProcessor, batch_scope, failed_counter
from ._redis import RedisCounterExporter, decode_records
from ._snowplow import SnowplowExporter

__all__ = [
    "AnalyticsLogRecordProcessor",
    "RedisCounterExporter",
    "SnowplowExporter",
    "batch_scope",
    "decode_records",
    "failed_counter",
]
