"""An OpenTelemetry log record exporter that sends to Snowplow from a child process.

It runs on the :class:`AnalyticsLogRecordProcessor`'s worker thread, never on the caller's:
that processor is the bounded buffer (``max_queue_size``, drops counted) and the retry loop
(backoff, for at most ``retry_timeout_millis``). Building a Snowplow payload with
snowplow-tracker and sending it costs some 50-70 µs of CPU an event; done in this process it
would hold the GIL for that long and slow down the threads that track events. So this exporter
only takes the event name, time, trace id and attributes of each record, hands them over
through a pipe to a child process (:mod:`._snowplow_child`), which builds the payloads, sends
them in collector-sized requests and answers, and waits for the answer with the GIL released
(at most ``timeout_millis``). The answer is:

* ``SUCCESS`` when every payload was delivered or refused for good (a 4xx other than 408/429:
  counted in ``internal_events.export.failed{exporter=snowplow, reason=rejected}``, not retried);
* ``FAILURE`` on a 5xx, 408, 429 or network error, or when the child dies or does not answer
  in time. The answer, or when the child died the progress it left after each request, says
  how many of the batch's records are done with, so when the processor retries the same batch
  only the rest is sent again, and a partial success is not sent twice. Each event's id comes
  from a random base drawn for its batch, and its device time is the batch's: an event sent
  again (the request a dying child had in flight) is the same event, which Snowplow's
  deduplication recognises.

Every record of a batch is counted once, when it is settled: delivered (in :attr:`stats`),
refused by the collector (``reason=rejected``) or impossible to build (``reason=invalid_event``);
when the processor gives up on a batch, :meth:`SnowplowExporter.undelivered` tells it how many
were never settled (``reason=retries_exhausted``), and a late answer for that batch adds no
failure again.

The child is started on the first export (``python -c``: a fresh interpreter, safe to start
from a threaded process, which neither re-runs the host's ``__main__`` nor needs
``multiprocessing``'s start-up machinery), at a lower scheduling priority (``nice`` 10) than
the host's. If it dies or does not answer in time, the export
returns ``FAILURE`` (the processor retries) and a dead child is replaced on the next export.
:meth:`SnowplowExporter.shutdown` stops it; it also exits when the pipe closes, so it does not
outlive this process. A forked copy of this process forgets the pipe and starts its own child.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.spawn
import os
import subprocess
import threading
import time
import weakref
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from .._warn_once import WarnOnce
from ..sinks import NO_SECRET_WARNING, SnowplowSinkSettings, require_snowplow_tracker
from ..wire import snowplow_indices
from ._losses import ExportLosses
from ._redis import plain_attributes
from ._snowplow_child import Answer, Export, ProgressBoard, Records, Settled, command

__all__ = ["SnowplowExporter"]

_log = logging.getLogger("otel_internal_events.export")
_ATTRIBUTES = {"exporter": "snowplow"}
_START_TIMEOUT_S = 30.0


class _ChildLost(Exception):
    """The child process is gone, could not start, or broke the protocol."""


class _Batch:
    """A batch being exported: what is sent of it, and how much of it is done."""

    __slots__ = ("abandoned", "counted", "created_ms", "done", "id", "id_base", "offset", "records", "seq", "source")

    def __init__(self, source: Sequence[Any], batch_id: int, records: Records) -> None:
        self.source = source
        self.id = batch_id
        self.id_base = int.from_bytes(os.urandom(16))
        self.created_ms = time.time_ns() // 1_000_000
        self.records = records
        #: How many leading records are done with (delivered, refused for good, or invalid).
        self.done = 0
        #: The last export message sent for it, and the offset that message started at.
        self.seq = 0
        self.offset = 0
        #: The processor gave up on it: what it did not settle is counted as failed already.
        self.abandoned = False
        #: What has been counted of export ``seq`` so far (the board, then the answer, say more and more).
        self.counted = _NOTHING


_NOTHING = Settled(0, 0, 0, 0, 0, 0)


class _Child:
    """A running child process, the parent's end of its pipe, and the board it writes its progress on."""

    def __init__(
        self, process: subprocess.Popen[bytes], connection: Connection, board: ProgressBoard, pid: int
    ) -> None:
        self.process = process
        self.connection = connection
        self.board = board
        self.pid = pid
        #: Export messages sent and not answered yet (their answer came after the wait ended).
        self.outstanding = 0


class SnowplowExporter(LogRecordExporter):
    """Sends each exported batch to a Snowplow collector through a child process; see the module docstring."""

    def __init__(self, settings: SnowplowSinkSettings, losses: ExportLosses, *, timeout_millis: int = 10_000) -> None:
        require_snowplow_tracker()  # say now, in this process, if the extra is missing
        self._settings = settings
        self._timeout_s = timeout_millis / 1000
        self._losses = losses
        self._once = WarnOnce(_log)
        self._stats = {"delivered": 0, "rejected": 0, "invalid": 0, "requests": 0, "transient_failures": 0}
        self._closed = False
        self._next_id = 0
        self._seq = 0
        self._init_state()
        if not settings.pseudonymization_secret:
            logging.getLogger("otel_internal_events.snowplow").warning(NO_SECRET_WARNING)
        ref = weakref.ref(self)

        def forget_child_in_fork() -> None:
            # A forked copy must not talk over the parent's pipe: it starts its own child on demand.
            exporter = ref()
            if exporter is not None:
                child = exporter._child
                exporter._init_state()
                if child is not None:
                    child.connection.close()  # this copy's descriptor only
                    child.board.close()

        os.register_at_fork(after_in_child=forget_child_in_fork)

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._child: _Child | None = None
        #: The batch of the last export, while it is not done (for a retry of it).
        self._batch: _Batch | None = None
        #: The batch before, if the processor gave up on it (a late answer for it may come).
        self._abandoned: _Batch | None = None

    @property
    def settings(self) -> SnowplowSinkSettings:
        return self._settings

    @property
    def url(self) -> str:
        """The collector's tracker-protocol POST URL."""
        return self._settings.url

    @property
    def child_pid(self) -> int | None:
        """The pid of the child process, while one runs."""
        child = self._child
        return child.pid if child is not None else None

    @property
    def stats(self) -> dict[str, int]:
        """Events delivered, rejected and invalid, requests made, and transient failures so far."""
        return dict(self._stats)

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        with self._lock:
            if self._closed:
                return LogRecordExportResult.FAILURE
            current = self._batch
            if current is None or current.source is not batch:  # not a retry: a new batch
                if current is not None and current.abandoned:
                    self._abandoned = current
                records = _compact(batch)
                if not records.size:
                    self._batch = None
                    return LogRecordExportResult.SUCCESS
                self._next_id += 1
                current = self._batch = _Batch(batch, self._next_id, records)
            if self._deliver(current):
                self._batch = None
                return LogRecordExportResult.SUCCESS
            return LogRecordExportResult.FAILURE

    def undelivered(self, batch: Sequence[Any]) -> int:
        """How many records of ``batch``, whose last export failed, are not settled yet.

        The processor counts these as failed when it gives up on the batch; records delivered,
        refused by the collector or invalid (each counted under its own reason) or not meant
        for Snowplow are not among them. An answer already waiting is taken first. A later
        answer for the batch still counts its deliveries, but no failure again.
        """
        with self._lock:
            current = self._batch
            if current is None or current.source is not batch:
                return _compact(batch).size
            child = self._child
            if child is not None and child.outstanding:
                try:
                    if not self._settle(child, time.monotonic()):  # an answer there, without waiting
                        self._count(child.board.read(), None, None)  # else what the child says so far
                except _ChildLost as exc:
                    self._lost(child, str(exc))
            current.abandoned = True
            return current.records.size - current.done

    def _deliver(self, batch: _Batch) -> bool:
        """Send what is left of ``batch`` to the child and wait for its answer; True when the batch is done."""
        child = self._child
        if child is not None and child.process.poll() is not None:  # died while idle: replace it now
            self._lost(child, f"the export process {child.pid} exited with {child.process.returncode}")
            child = None
        try:
            if child is None:
                child = self._child = self._start()
                if self._closed:  # shut down while it started
                    self._lost(child, "the exporter was shut down")
                    return False
            deadline = time.monotonic() + self._timeout_s
            if not self._settle(child, deadline):  # still busy with a batch it was given before
                self._warn_timeout()
                return False
            if batch.done >= batch.records.size:  # a late answer finished it
                return True
            self._seq += 1
            batch.seq, batch.offset = self._seq, batch.done
            rest = batch.records.since(batch.done)
            message = Export(batch.seq, batch.id, batch.id_base, batch.created_ms, batch.done, rest)
            try:
                child.connection.send(message)
            except OSError as exc:
                raise _ChildLost(f"the export process {child.pid} is gone ({exc!r})") from None
            child.outstanding += 1
            answer = self._receive(child, deadline)
            while answer is not None and answer.seq != batch.seq:
                answer = self._receive(child, deadline)
        except _ChildLost as exc:
            self._lost(child, str(exc))
            return False
        if answer is None:
            self._warn_timeout()
            return False
        if not answer.ok:
            self._once.warn(
                "snowplow:transient",
                "internal events snowplow: cannot deliver to %s (%s); retrying",
                self.url,
                answer.error,
            )
        return answer.ok

    def _settle(self, child: _Child, deadline: float) -> bool:
        """Take the answers still owed (their stats count); False if the child is still busy at ``deadline``."""
        while child.outstanding:
            if self._receive(child, deadline) is None:
                return False
        return True

    def _receive(self, child: _Child, deadline: float) -> Answer | None:
        """The next answer of ``child``, counted; None at ``deadline``."""
        connection = child.connection
        try:
            if not connection.poll(max(0.0, deadline - time.monotonic())):
                return None
            answer = connection.recv()
        except (EOFError, OSError) as exc:
            raise _ChildLost(f"the export process {child.pid} is gone ({exc!r})") from None
        if not isinstance(answer, Answer):
            raise _ChildLost(f"unexpected message from the export process: {answer!r}")
        self._take_answer(child, answer)
        return answer

    def _take_answer(self, child: _Child, answer: Answer) -> None:
        child.outstanding -= 1
        self._stats["transient_failures"] += answer.transient_failures
        self._count(answer.settled, answer.rejected_status, answer.invalid_example)

    def _count(self, settled: Settled | None, rejected_status: int | None, invalid_example: str | None) -> None:
        """Count what export ``settled.seq`` settled (beyond what was counted of it already), and
        move its batch on; ``settled`` is an answer, or what a progress board said (None: unreadable).

        The failure counters count it only for the batch in progress: the processor has
        counted the records of a batch it gave up on already.
        """
        if settled is None:
            return
        batch = next((b for b in (self._batch, self._abandoned) if b is not None and b.seq == settled.seq), None)
        if batch is None:  # an export whose answer was counted, or a board from before it
            return
        if settled.done > batch.records.size - batch.offset:
            return  # not this export's: a board cut off mid-write would say so
        before = batch.counted if batch.counted.seq == settled.seq else _NOTHING
        if settled.requests < before.requests:
            return  # older news than what was counted (its figures only grow)
        batch.counted = settled
        batch.done = max(batch.done, batch.offset + settled.done)
        delivered, rejected, invalid, requests = (
            max(0, now - then) for now, then in zip(settled[2:], before[2:], strict=True)
        )
        stats = self._stats
        stats["delivered"] += delivered
        stats["requests"] += requests
        stats["invalid"] += invalid
        stats["rejected"] += rejected
        if batch.abandoned:
            return
        if invalid:
            self._losses.failed(invalid, "snowplow", "invalid_event")
            self._once.warn(
                f"snowplow:invalid:{invalid_example is not None}",
                "internal events snowplow: %d event(s) could not be built, e.g. %s",
                invalid,
                invalid_example or "(not known: the export process died)",
            )
        if rejected:
            self._losses.failed(rejected, "snowplow", "rejected")
            self._once.warn(
                f"snowplow:rejected:{rejected_status}",
                "internal events snowplow: the collector at %s refused %d event(s) (HTTP %s); not retried",
                self.url,
                rejected,
                rejected_status or "status unknown",
            )

    def _collect_remains(self, child: _Child) -> None:
        """Count what a stopped child settled that the parent has not heard of: the answers
        left in the pipe, then what its progress board says of the export it was on."""
        connection = child.connection
        try:
            while child.outstanding and connection.poll(0):
                message = connection.recv()
                if isinstance(message, Answer):
                    self._take_answer(child, message)
        except (EOFError, OSError):
            pass
        self._count(child.board.read(), None, None)

    def _warn_timeout(self) -> None:
        self._once.warn(
            "snowplow:timeout",
            "internal events snowplow: no answer from the export process within %.1f s; retrying",
            self._timeout_s,
        )

    def _start(self) -> _Child:
        """Start a child process and hand it the sink's settings; raises :class:`_ChildLost`."""
        ours, theirs = multiprocessing.Pipe()
        board = ProgressBoard.create()
        try:
            process = subprocess.Popen(
                command(multiprocessing.spawn.get_executable() or "", theirs.fileno(), board.fileno()),
                pass_fds=tuple(fd for fd in (theirs.fileno(), board.fileno()) if fd >= 0),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except (OSError, ValueError) as exc:
            ours.close()
            board.close()
            raise _ChildLost(f"cannot start the export process ({exc!r})") from None
        finally:
            theirs.close()
        child = _Child(process, ours, board, process.pid)
        try:
            ours.send(self._settings)
            if not ours.poll(_START_TIMEOUT_S):
                raise _ChildLost(f"the export process did not start within {_START_TIMEOUT_S:.0f} s")
            kind, value = ours.recv()
        except (EOFError, OSError, ValueError, TypeError) as exc:
            _stop_process(child, 1.0)
            _close(child)
            raise _ChildLost(f"the export process failed to start ({exc!r})") from None
        except _ChildLost:
            _stop_process(child, 1.0)
            _close(child)
            raise
        if kind != "ready":
            _stop_process(child, 1.0)
            _close(child)
            raise _ChildLost(f"the export process could not build the sink: {value}")
        child.pid = value
        return child

    def _lost(self, child: _Child | None, reason: str) -> None:
        self._once.warn(
            "snowplow:child",
            "internal events snowplow: %s; a new export process starts on the next export",
            reason,
        )
        if child is not None:
            _stop_process(child, 1.0)
            self._collect_remains(child)  # how far it got with the export it had
            _close(child)
        self._child = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        """Stop the child: ask, wait (``timeout_millis``), then terminate it."""
        self._closed = True
        # An export still waiting for the child holds the lock: ending the child ends that wait.
        if not self._lock.acquire(timeout=1.0):
            child = self._child
            if child is not None:
                child.process.terminate()
            if not self._lock.acquire(timeout=5.0):
                return
        try:
            child, self._child = self._child, None
            if child is None:
                return
            deadline = time.monotonic() + self._timeout_s
            try:
                child.connection.send(("stop",))
                while child.outstanding and self._receive(child, deadline) is not None:
                    pass  # the stats of answers still owed
            except (_ChildLost, OSError):
                pass
            _stop_process(child, max(0.0, deadline - time.monotonic()))
            self._collect_remains(child)
            _close(child)
        finally:
            self._lock.release()


def _compact(batch: Sequence[Any]) -> Records:
    """What the child needs of the records to send to Snowplow; records not for Snowplow are left out."""
    logs = [item.log_record for item in batch]
    names = [record.event_name for record in logs]
    attributes = [plain_attributes(record) for record in logs]
    keep = snowplow_indices(names, attributes)
    if len(keep) < len(logs):
        logs = [logs[i] for i in keep]
        names = [names[i] for i in keep]
        attributes = [attributes[i] for i in keep]
    return Records(
        names,
        [record.timestamp or record.observed_timestamp for record in logs],
        [record.trace_id for record in logs],
        attributes,
    )


def _stop_process(child: _Child, timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for the child to exit, then terminate (and if need be kill) it."""
    process = child.process
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):  # stuck in the kernel: let it go
                process.wait(2.0)


def _close(child: _Child) -> None:
    """Close the parent's end of a stopped child's pipe, and its board."""
    child.connection.close()
    child.board.close()
