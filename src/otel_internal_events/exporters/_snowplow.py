"""An OpenTelemetry log record exporter that sends to Snowplow from child processes.

Building a Snowplow payload with snowplow-tracker costs some 25-70 µs of CPU an event, which in
this process would hold the GIL and slow down the threads that track events. So
:meth:`SnowplowExporter.export` sends the event name, time, trace id and attributes of each
record meant for Snowplow in one message to a child process (:mod:`._snowplow_child`), and waits
for its one answer with the GIL released. A large batch is cut into one part per child (up to
``processes``, each part at least a collector request long), handed to all of them at once and
answered by each: one child builds and sends some 20,000 events a second, two some 35,000. A
child owns delivery: it builds the payloads, sends
them in collector-sized requests, retries 5xx, 408, 429 and network errors with backoff for up to
``retry_timeout_millis``, and says what became of each record: delivered (counted in
:attr:`~SnowplowExporter.stats`), or failed (``internal_events.export.failed{exporter=snowplow}``)
as ``rejected`` (a 4xx other than 408/429), ``invalid_event`` or ``retries_exhausted``. Every
record is settled there, so ``export`` returns ``SUCCESS``: the processor has nothing to retry.

A child that dies, or does not answer in time, is stopped and the same message goes to a new
child while retry time remains. Event ids come from a random base drawn per batch (a part's base
is offset by where it starts, so the ids do not depend on the cut) and device times from the
batch's creation, so what the dead child sent goes again as the same events (Snowplow drops
duplicates by event id), counted once. A batch left without an answer, or cut short by
:meth:`~SnowplowExporter.shutdown`, counts as given up.

A child is started when its first part comes, with ``python -c`` (a fresh interpreter: safe from a
threaded process, and the host's ``__main__`` is not run again) at a lower priority. It exits
when the pipe closes, so it does not outlive this process; a forked copy starts its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.spawn
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from .._forks import renew_in_forked_child
from .._warn_once import WarnOnce
from ..sinks import NO_SECRET_WARNING, SnowplowSinkSettings, require_snowplow_tracker
from ..wire import snowplow_indices
from ._losses import ExportLosses
from ._redis import plain_attributes
from ._snowplow_child import Answer, Batch, command

__all__ = ["SnowplowExporter", "snowplow_records"]

_log = logging.getLogger("otel_internal_events.export")
_FAILED = "internal events snowplow: %d event(s) for %s %s (%s)"
_START_TIMEOUT_S = 30.0
#: How much longer than the retry time plus a request's timeout an answer may take (the build).
_ANSWER_MARGIN_S = 5.0
#: How long a child asked to stop has before it is terminated, and then before it is killed.
_STOP_GRACE_S = 1.0
#: The wait before a lost child's part goes to a new child, doubling up to the last.
_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 2.0


class _Child:
    """A running export process, the parent's end of its pipe, and the pid it reported."""

    def __init__(self, process: subprocess.Popen[bytes], connection: Connection) -> None:
        self.process, self.connection, self.pid = process, connection, process.pid

    def stop(self) -> None:
        """Close the pipe, which tells the child to exit; wait, then terminate it and if need be kill it."""
        self.connection.close()
        for then in (self.process.terminate, self.process.kill, None):
            try:
                self.process.wait(_STOP_GRACE_S)
                return
            except subprocess.TimeoutExpired:
                if then is not None:
                    then()


class SnowplowExporter(LogRecordExporter):
    """Sends each exported batch to a Snowplow collector through a child process; see the module docstring.

    ``timeout_millis`` bounds one request and ``retry_timeout_millis`` the retrying of a batch's
    transient failures; an answer is awaited for their sum and a few seconds more. ``processes``
    is how many child processes share a large batch.
    """

    def __init__(
        self,
        settings: SnowplowSinkSettings,
        losses: ExportLosses,
        *,
        timeout_millis: int = 10_000,
        retry_timeout_millis: int = 30_000,
        processes: int = 2,
    ) -> None:
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        require_snowplow_tracker()  # say now, in this process, if the extra is missing
        self._settings = settings
        self._losses = losses
        self._timeout_s = timeout_millis / 1000
        self._retry_s = retry_timeout_millis / 1000
        self._once = WarnOnce(_log)
        self._stats = dict.fromkeys(("delivered", "rejected", "invalid", "requests", "transient_failures"), 0)
        self._closed = False
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._children: list[_Child | None] = [None] * processes
        renew_in_forked_child(self, SnowplowExporter._forget_child)
        if not settings.pseudonymization_secret:
            logging.getLogger("otel_internal_events.snowplow").warning(NO_SECRET_WARNING)

    def _forget_child(self) -> None:
        """In a forked copy: drop the parent's children (closing this copy of their pipes) and lock."""
        for child in self._children:
            if child is not None:
                child.connection.close()
        self._children = [None] * len(self._children)
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def settings(self) -> SnowplowSinkSettings:
        return self._settings

    @property
    def url(self) -> str:
        """The collector's tracker-protocol POST URL."""
        return self._settings.url

    @property
    def child_pid(self) -> int | None:
        """The pid of the first child process (the one every batch goes to), while it runs."""
        child = self._children[0]
        return child.pid if child is not None else None

    @property
    def child_pids(self) -> list[int]:
        """The pids of the child processes running now."""
        return [child.pid for child in self._children if child is not None]

    @property
    def stats(self) -> dict[str, int]:
        """Events delivered, rejected and invalid, requests made, and transient failures so far."""
        return dict(self._stats)

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        """Have the children deliver the batch's Snowplow records, and count what became of them."""
        message = snowplow_records(batch, self._retry_s)
        if message is not None:
            parts = _parts(message, len(self._children), self._settings.batch_size)
            with self._lock:
                deadline = time.monotonic() + self._retry_s
                # A child that died while idle is found when its part is handed over: a new one
                # takes the part at once, so that every part starts with the whole retry time.
                handed = [
                    self._send(lane, part, deadline) or self._send(lane, part, deadline)
                    for lane, part in enumerate(parts)
                ]
                waiting = {lane for lane, sent in enumerate(handed) if sent}
                try:
                    for lane, part in enumerate(parts):
                        answer = self._receive(lane, deadline) if lane in waiting else None
                        waiting.discard(lane)
                        if answer is None:
                            answer = self._deliver(lane, part, deadline)
                        self._count(answer, len(part.names))
                finally:
                    for lane in waiting:  # left unread by an error: its answer must not meet the next batch
                        self._drop_child(lane, None)
        return LogRecordExportResult.SUCCESS

    def _deliver(self, lane: int, message: Batch, deadline: float) -> Answer | None:
        """The answer of a new child of ``lane`` to ``message``, while retry time remains."""
        backoff = _FIRST_BACKOFF_S
        while not self._closed and time.monotonic() < deadline:
            if self._send(lane, message, deadline):
                answer = self._receive(lane, deadline)
                if answer is not None:
                    return answer
            # A child that cannot start or dies at once is not started again in a tight loop.
            self._stopping.wait(min(backoff, max(0.0, deadline - time.monotonic())))
            backoff = min(backoff * 2, _MAX_BACKOFF_S)
        return None

    def _send(self, lane: int, message: Batch, deadline: float) -> bool:
        """Hand ``message`` to the child of ``lane``, started if need be; False if that failed."""
        if self._closed:
            return False
        try:
            child = self._children[lane] or self._start(lane)
            child.connection.send(message._replace(retry_s=max(0.0, deadline - time.monotonic())))
        except (EOFError, OSError) as exc:
            self._drop_child(lane, exc)
            return False
        return True

    def _receive(self, lane: int, deadline: float) -> Answer | None:
        """The answer of the child of ``lane`` to what it was handed; None if it is lost."""
        child = self._children[lane]
        if child is None:
            return None
        try:
            if not child.connection.poll(max(0.0, deadline - time.monotonic()) + self._timeout_s + _ANSWER_MARGIN_S):
                raise ChildProcessError(f"the export process {child.pid} did not answer in time")
            answer = child.connection.recv()
            if not isinstance(answer, Answer):
                raise ChildProcessError(f"unexpected message from the export process: {answer!r}")
        except (EOFError, OSError) as exc:
            self._drop_child(lane, exc)
            return None
        return answer

    def _start(self, lane: int) -> _Child:
        """Start the child process of ``lane`` and hand it the sink's settings; raises :class:`OSError`."""
        ours, theirs = multiprocessing.Pipe()
        try:
            process = subprocess.Popen(
                command(multiprocessing.spawn.get_executable() or "", theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except (OSError, ValueError) as exc:
            ours.close()
            raise ChildProcessError(f"cannot start the export process ({exc!r})") from None
        finally:
            theirs.close()
        child = self._children[lane] = _Child(process, ours)  # from here on, shutdown() ends it
        if self._closed:
            raise ChildProcessError("the exporter is shut down")
        ours.send(self._settings)
        if not ours.poll(_START_TIMEOUT_S):
            raise ChildProcessError(f"the export process did not start within {_START_TIMEOUT_S:.0f} s")
        kind, value = ours.recv()
        if kind != "ready":
            raise ChildProcessError(f"the export process could not build the sink: {value}")
        child.pid = value
        return child

    def _drop_child(self, lane: int, reason: Exception | None) -> None:
        child, self._children[lane] = self._children[lane], None
        if child is not None:
            child.stop()
        if reason is not None and not self._closed:
            self._once.warn("snowplow:child", "internal events snowplow: %s; the batch goes to a new one", reason)

    def _count(self, answer: Answer | None, records: int) -> None:
        """Count what became of a batch of ``records`` Snowplow records (without an answer: given up)."""
        if answer is None:
            answer = Answer(given_up=records, last_error="no answer from the export process")
        for key in self._stats:
            self._stats[key] += getattr(answer, key)
        for reason, count, what, why in (
            ("invalid_event", answer.invalid, "could not be built", answer.first_invalid),
            ("rejected", answer.rejected, "were refused, not retried", f"HTTP {answer.first_rejected_status}"),
            ("retries_exhausted", answer.given_up, "were given up after retrying", answer.last_error),
        ):
            if count:
                self._losses.failed(count, "snowplow", reason)
                self._once.warn(f"snowplow:{reason}", _FAILED, count, self.url, what, why)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # nothing is held between exports

    def shutdown(self) -> None:
        """Stop the children (ask, wait, terminate, kill). An export waiting for them at that
        moment ends, and counts its records as ``retries_exhausted``."""
        self._closed = True
        self._stopping.set()
        if not self._lock.acquire(timeout=_STOP_GRACE_S):  # an export waits for a child: end that wait
            for child in list(self._children):
                if child is not None:
                    child.process.terminate()
            self._lock.acquire()
        try:
            for lane in range(len(self._children)):
                self._drop_child(lane, None)
        finally:
            self._lock.release()


def _parts(message: Batch, processes: int, request_size: int) -> list[Batch]:
    """``message`` cut into at most ``processes`` parts of at least ``request_size`` records,
    in order; part ``i`` starting at record ``o`` has the id base ``id_base + o``, so that every
    record keeps the event id it has in the whole message."""
    records = len(message.names)
    count = max(1, min(processes, records // max(1, request_size)))
    if count == 1:
        return [message]
    size = -(-records // count)
    return [
        Batch(
            message.id_base + start,
            message.created_ms,
            message.retry_s,
            message.names[start : start + size],
            message.timestamps[start : start + size],
            message.trace_ids[start : start + size],
            message.attributes[start : start + size],
        )
        for start in range(0, records, size)
    ]


def snowplow_records(batch: Sequence[Any], retry_s: float) -> Batch | None:
    """The message to the child for the records of ``batch`` meant for Snowplow; None if there are none."""
    logs = [item.log_record for item in batch]
    names = [record.event_name for record in logs]
    attributes = [plain_attributes(record) for record in logs]
    keep = snowplow_indices(names, attributes)
    if not keep:
        return None
    if len(keep) < len(logs):
        logs = [logs[i] for i in keep]
        names = [names[i] for i in keep]
        attributes = [attributes[i] for i in keep]
    timestamps = [record.timestamp or record.observed_timestamp for record in logs]
    trace_ids = [record.trace_id for record in logs]
    return Batch(
        int.from_bytes(os.urandom(16)), time.time_ns() // 1_000_000, retry_s, names, timestamps, trace_ids, attributes
    )
