"""The Snowplow export process: builds payloads with snowplow-tracker and sends them.

:class:`~._snowplow.SnowplowExporter` starts it (``python -c``, see :func:`command`) with one
end of a ``multiprocessing.connection`` pair, and talks to it in messages:

* first the parent sends :class:`~..sinks.SnowplowSinkSettings`; the child builds its sink and
  answers ``("ready", pid)``, or ``("error", text)`` and exits;
* then :class:`Export` messages, each answered by an :class:`Answer`; the :class:`Records` in
  them are decoded here. After each request that settles part of an export, the child writes
  ``(seq, done)`` into a small memory region shared with the parent (:class:`ProgressBoard`):
  if the child dies mid-export, the parent reads there how much of it was done. (A message
  per request would wake the parent's export thread each time, and that thread shares the
  host's GIL.)
* ``("stop",)``, or the end of the pipe (the parent is gone), ends the process.

Requests go out in order, so what is done of an export is always its first records. On a
transient failure the parent sends the batch again from the first record not done; see
:class:`BatchSender` for how that record's event keeps its id.
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import signal
import struct
import tempfile
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from ..sinks import Payload, SnowplowSink, SnowplowSinkSettings, event_from_attributes

__all__ = ["Answer", "Export", "ProgressBoard", "Records", "command", "event_id", "main"]

#: How much lower than the host's the export process's scheduling priority is.
_NICENESS = 10


class Records(NamedTuple):
    """What the parent sends of log records: the event name, timestamp (ns), trace id and
    attributes of each, column by column (half the cost of a tuple per record to gather and
    to pickle, and that cost is on the host's GIL)."""

    names: list[str | None]
    timestamps: list[int]
    trace_ids: list[int | None]
    attributes: list[dict[str, Any]]

    @property
    def size(self) -> int:
        """How many records there are."""
        return len(self.attributes)

    def since(self, offset: int) -> Records:
        """The records from ``offset`` on."""
        if not offset:
            return self
        return Records(self.names[offset:], self.timestamps[offset:], self.trace_ids[offset:], self.attributes[offset:])


class Export(NamedTuple):
    """An export message: send ``records``, the part of batch ``batch_id`` from ``offset`` on."""

    seq: int
    batch_id: int
    #: A random 128-bit number; the event id of the batch's record ``i`` is :func:`event_id` of ``(base, i)``.
    id_base: int
    #: When the parent first took the batch (ms since the epoch): every event's device time.
    created_ms: int
    offset: int
    records: Records


class ProgressBoard:
    """``(seq, done)`` of the export in progress, in 16 bytes of memory shared by parent and child.

    The parent creates it (:meth:`create`, an unlinked temporary file) and passes its file
    descriptor to the child (:meth:`open`). Only the child writes; the parent reads after the
    child is gone, so a read never sees half a write.
    """

    _FORMAT = "<QQ"
    _SIZE = struct.calcsize(_FORMAT)

    def __init__(self, memory: mmap.mmap, file: Any = None) -> None:
        self._memory = memory
        self._file = file

    @classmethod
    def create(cls) -> ProgressBoard:
        file = tempfile.TemporaryFile()  # noqa: SIM115 - open as long as the board: its child maps it
        os.ftruncate(file.fileno(), cls._SIZE)
        return cls(mmap.mmap(file.fileno(), cls._SIZE), file)

    @classmethod
    def open(cls, fd: int) -> ProgressBoard:
        memory = mmap.mmap(fd, cls._SIZE)
        os.close(fd)
        return cls(memory)

    def fileno(self) -> int:
        assert self._file is not None, "only the creator has the file"
        return int(self._file.fileno())

    def write(self, seq: int, done: int) -> None:
        struct.pack_into(self._FORMAT, self._memory, 0, seq, done)

    def read(self) -> tuple[int, int]:
        seq, done = struct.unpack_from(self._FORMAT, self._memory)
        return seq, done

    def close(self) -> None:
        self._memory.close()
        if self._file is not None:
            self._file.close()


class Answer(NamedTuple):
    """The child's answer to one export message: the outcome and what to add to the stats."""

    seq: int
    ok: bool
    pid: int
    #: How many leading records of the export are done with (delivered, refused or invalid).
    done: int = 0
    delivered: int = 0
    requests: int = 0
    transient_failures: int = 0
    #: (HTTP status, events) of each request the collector refused for good.
    rejected: tuple[tuple[int, int], ...] = ()
    invalid: int = 0
    #: ``name: repr(exception)`` of the first event that could not be built.
    invalid_example: str | None = None
    #: Why the batch is not done (transient cause, or an unexpected error).
    error: str | None = None


def event_id(base: int, index: int) -> str:
    """The Snowplow event id of record ``index`` of the batch with id base ``base``: a version 4 UUID."""
    return str(uuid.UUID(int=(base + index) & _UUID_MASK, version=4))


_UUID_MASK = (1 << 128) - 1


class _Plan:
    """The payloads built for an export, and the index (in the export's records) of each one's record."""

    __slots__ = ("batch_id", "count", "indices", "offset", "payloads")

    def __init__(self, batch_id: int, offset: int, count: int) -> None:
        self.batch_id = batch_id
        self.offset = offset
        #: How many records the export had.
        self.count = count
        self.payloads: list[Payload] = []
        self.indices: list[int] = []

    def done_records(self, done_payloads: int) -> int:
        """How many leading records are done when the first ``done_payloads`` payloads are
        (records that gave no payload count as done once the payloads before them are)."""
        return self.indices[done_payloads] if done_payloads < len(self.indices) else self.count

    def rest(self, done_payloads: int) -> _Plan:
        """What is left after the first ``done_payloads`` payloads, as a plan from the next record on."""
        done = self.done_records(done_payloads)
        rest = _Plan(self.batch_id, self.offset + done, self.count - done)
        rest.payloads = self.payloads[done_payloads:]
        rest.indices = [index - done for index in self.indices[done_payloads:]]
        return rest


class BatchSender:
    """One export at a time through ``sink``, keeping what a transient failure left undelivered.

    Payloads are built the same way each time (event ids from the batch's id base, times from
    its creation), so a batch built again by a new child after a crash sends the same events.
    The payloads left by a transient failure are kept, and a retry of that batch from that
    offset sends them without building them again.
    """

    def __init__(self, sink: SnowplowSink) -> None:
        self._sink = sink
        self._pid = os.getpid()
        self._pending: _Plan | None = None

    def export(self, message: Export, progress: Callable[[int, int], None] | None = None) -> Answer:
        """Send the message's records; ``progress(seq, done)`` after each request that settles some."""
        invalid = 0
        example = None
        plan = self._pending
        if plan is None or (plan.batch_id, plan.offset) != (message.batch_id, message.offset):
            plan, failed = self._build(message)
            if failed:
                invalid = len(failed)
                example = failed[0]
        self._pending = None
        seq = message.seq
        if not plan.payloads:
            return Answer(seq, True, self._pid, done=plan.count, invalid=invalid, invalid_example=example)

        def report(done_payloads: int) -> None:
            if progress is not None:
                progress(seq, plan.done_records(done_payloads))

        result = self._sink.send(plan.payloads, report)
        if result.unsent:
            self._pending = plan.rest(result.done)
        return Answer(
            seq,
            not result.unsent,
            self._pid,
            done=plan.done_records(result.done),
            delivered=result.delivered,
            requests=result.requests,
            transient_failures=1 if result.unsent else 0,
            rejected=tuple(result.rejected),
            invalid=invalid,
            invalid_example=example,
            error=result.error,
        )

    def _build(self, message: Export) -> tuple[_Plan, list[str]]:
        """The payloads of the message's records, and ``name: repr(error)`` of each that failed."""
        records = message.records
        plan = _Plan(message.batch_id, message.offset, records.size)
        failed: list[str] = []
        sink, base, created_ms = self._sink, message.id_base, message.created_ms
        rows = zip(records.names, records.timestamps, records.trace_ids, records.attributes, strict=True)
        for index, (name, timestamp, trace_id, attributes) in enumerate(rows):
            event = event_from_attributes(name, attributes, timestamp)
            if event is None or not event.send_snowplow:
                continue
            try:
                payload = sink.payload(
                    event,
                    correlation_id=f"{trace_id:032x}" if trace_id else None,
                    event_id=event_id(base, message.offset + index),
                    created_ms=created_ms,
                )
            except Exception as exc:  # one malformed event must not hold back the batch
                failed.append(f"{event.name}: {exc!r}")
                continue
            plan.payloads.append(payload)
            plan.indices.append(index)
        return plan, failed


def command(executable: str, fd: int, progress_fd: int) -> list[str]:
    """The command line of a child that talks over file descriptor ``fd`` and reports progress on ``progress_fd``."""
    # The directory this package was imported from, for a host that found it on its own sys.path.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        "import sys\n"
        f"if {root!r} not in sys.path: sys.path.append({root!r})\n"
        "from otel_internal_events.exporters._snowplow_child import main\n"
        f"main({fd}, {progress_fd})\n"
    )
    return [executable, "-c", code]


def main(fd: int, progress_fd: int) -> None:
    """Serve the parent on ``fd`` until it says stop or goes away; see :class:`ProgressBoard` for ``progress_fd``."""
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when this ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Exporting analytics yields the CPU to the host's own threads when the machine is busy (on
    # a saturated 2-core box: Snowplow's extra wall time for a tight tracking loop went from 44%
    # to 16%); the export queue is bounded, with drops counted, should it fall behind for long.
    with contextlib.suppress(OSError):
        os.nice(_NICENESS)
    # Problems are reported to the parent, which logs them; nothing is printed from here.
    logging.getLogger().addHandler(logging.NullHandler())
    connection = Connection(fd)
    board = ProgressBoard.open(progress_fd)
    sink: SnowplowSink | None = None
    try:
        settings = connection.recv()
        if not isinstance(settings, SnowplowSinkSettings):
            return
        try:
            sink = settings.build()
        except Exception as exc:
            connection.send(("error", repr(exc)))
            return
        connection.send(("ready", os.getpid()))
        sender = BatchSender(sink)
        while True:
            message = connection.recv()
            if not isinstance(message, Export):
                return
            try:
                answer = sender.export(message, board.write)
            except Exception as exc:  # answer, so that the parent retries or gives up in bounds
                answer = Answer(message.seq, False, os.getpid(), error=repr(exc))
            connection.send(answer)
    except (EOFError, OSError):
        return  # the parent is gone
    finally:
        if sink is not None:
            sink.close()
        connection.close()
        board.close()
