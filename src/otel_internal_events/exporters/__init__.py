"""OpenTelemetry exporters and the analytics log record processor that feed the sinks."""

from ._processor import AnalyticsLogRecordProcessor, batch_scope
from ._redis import RedisCounterExporter, decode_records

__all__ = ["AnalyticsLogRecordProcessor", "RedisCounterExporter", "batch_scope", "decode_records"]
