"""Records lost for good, counted in one place: the OTel counters and the totals ``flush()`` reads.

A record is lost when it is dropped before export (a full queue, a shut-down processor) or fails
for good (retries exhausted, refused by Redis or the collector, impossible to build). Every
processor and exporter of one runtime reports to the same :class:`ExportLosses`, so that
``flush()`` can say whether anything was lost since the last flush, whoever lost it.
"""

from __future__ import annotations

import threading

from opentelemetry.metrics import Meter

from ..conventions import DROPPED_COUNTER, EXPORT_FAILED_COUNTER

__all__ = ["ExportLosses"]


class ExportLosses:
    """``internal_events.export.dropped`` and ``.failed{exporter,reason}``, and their totals by exporter."""

    def __init__(self, meter: Meter) -> None:
        self._dropped = meter.create_counter(
            DROPPED_COUNTER, unit="{record}", description="Records dropped before export, by exporter and reason."
        )
        self._failed = meter.create_counter(
            EXPORT_FAILED_COUNTER, unit="{record}", description="Records whose export failed for good."
        )
        self._lock = threading.Lock()
        self._totals: dict[str, list[int]] = {}

    def dropped(self, count: int, exporter: str, reason: str) -> None:
        """``count`` records of ``exporter`` dropped before export."""
        self._add(0, count, exporter)
        self._dropped.add(count, {"exporter": exporter, "reason": reason})

    def failed(self, count: int, exporter: str, reason: str) -> None:
        """``count`` records of ``exporter`` whose export failed for good."""
        self._add(1, count, exporter)
        self._failed.add(count, {"exporter": exporter, "reason": reason})

    def of(self, exporter: str) -> tuple[int, int]:
        """(dropped, failed) of ``exporter`` so far."""
        with self._lock:
            dropped, failed = self._totals.get(exporter, (0, 0))
            return dropped, failed

    def _add(self, index: int, count: int, exporter: str) -> None:
        with self._lock:
            self._totals.setdefault(exporter, [0, 0])[index] += count
