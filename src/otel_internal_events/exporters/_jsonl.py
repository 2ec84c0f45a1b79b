"""An OpenTelemetry log record exporter that writes each event as one JSON line.

For teams that ship events as log lines (stdout, or a file) rather than over OTLP: the
Collector's filelog receiver reads the lines back into attributes (see ``collector-config/``).
A line holds the event's wire attributes as they are (see :mod:`..wire`) and ``time``, when the
event happened, in RFC 3339 with nanoseconds::

    {"internal_events.event":"create_merge_request","internal_events.user.id":42,...,
     "time":"2026-11-25T12:00:00.000000000Z"}
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
from collections.abc import Sequence
from typing import Any, TextIO

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from ..wire import event_name
from ._redis import plain_attributes

__all__ = ["JSON_LINE_TIME", "JsonLinesExporter", "json_line"]

#: The key of the event time in a line (every other key is a wire attribute).
JSON_LINE_TIME = "time"


def json_line(attributes: Any, timestamp_ns: int) -> str:
    """One event's line, without its end of line."""
    seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return json.dumps({**attributes, JSON_LINE_TIME: f"{stamp}.{nanos:09d}Z"}, separators=(",", ":"))


class JsonLinesExporter(LogRecordExporter):
    """Writes the events of each batch to ``path`` (appended to; ``-``: standard output), one
    JSON line each, and flushes after every batch. Records that are not events are skipped."""

    def __init__(self, path: str = "-") -> None:
        self.path = path
        self._file: TextIO | None = None
        self._lock = threading.Lock()

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        lines = []
        for item in batch:
            record = item.log_record
            attributes = plain_attributes(record)
            if attributes and event_name(record.event_name, attributes) is not None:
                lines.append(json_line(attributes, record.timestamp or record.observed_timestamp) + "\n")
        if not lines:
            return LogRecordExportResult.SUCCESS
        with self._lock:
            if self._file is None:
                self._file = sys.stdout if self.path == "-" else open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            self._file.write("".join(lines))
            self._file.flush()
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        with self._lock:
            if self._file is not None and self._file is not sys.stdout:
                self._file.close()
            self._file = None
