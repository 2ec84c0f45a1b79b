"""The Snowplow export process: builds payloads with snowplow-tracker and sends them.

:class:`~._snowplow.SnowplowExporter` starts it (``python -c``, see :func:`command`) with one
end of a ``multiprocessing.connection`` pair, and talks to it in messages:

* first the parent sends :class:`~..sinks.SnowplowSinkSettings`; the child builds its sink and
  answers ``("ready", pid)``, or ``("error", text)`` and exits;
* then :class:`Export` messages, each answered by an :class:`Answer`; the :class:`Records` in
  them are decoded here. After each request that settles part of an export, the child writes
  what is settled (:class:`Settled`) into a small memory region shared with the parent
  (:class:`ProgressBoard`): if the child dies mid-export, the parent reads there how much of
  it was done, and counts it. (A message
  per request would wake the parent's export thread each time, and that thread shares the
  host's GIL.)
* ``("stop",)``, or the end of the pipe (the parent is gone), ends the process.

Requests go out in order, so what is done of an export is always its first records. On a
transient failure the parent sends the batch again from the first record not done; see
:class:`BatchSender` for how that record's event keeps its id.
"""

from __future__ import annotations

import bisect
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

from ..sinks import Payload, SendResult, SnowplowSink, SnowplowSinkSettings
from ..wire import decode

__all__ = ["Answer", "Export", "ProgressBoard", "Records", "Settled", "command", "event_id", "main"]

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


class Settled(NamedTuple):
    """What an export has settled so far: its first ``done`` records, of which ``delivered``
    were delivered, ``rejected`` refused for good by the collector and ``invalid`` could not be
    built; and the ``requests`` it made. Every record of a batch is counted once, when it is
    settled (the processor counts the ones never settled when it gives up)."""

    seq: int
    done: int
    delivered: int
    rejected: int
    invalid: int
    requests: int


class ProgressBoard:
    """The :class:`Settled` of the export in progress, in a few bytes of memory shared by parent and child.

    The parent creates it (:meth:`create`: an anonymous memory file where the system has them,
    else an unlinked temporary file) and passes its file descriptor to the child
    (:meth:`open`). Only the child writes. A version number, odd while a write is under way,
    lets the parent read it while the child runs, and tells it when a child died mid-write.
    """

    _FORMAT = "<Q6Q"
    _SIZE = struct.calcsize(_FORMAT)
    _VERSION = struct.Struct("<Q")

    def __init__(self, memory: mmap.mmap, fd: int | None = None) -> None:
        self._memory = memory
        self._fd = fd
        self._version = 0

    @classmethod
    def create(cls) -> ProgressBoard:
        """A zeroed board. Where no memory file can be made, a board of this process only:
        a child that dies mid-export then has its whole export sent again."""
        for make in (_memory_file, _temporary_file):
            try:
                fd = make()
            except (OSError, AttributeError):
                continue
            try:
                os.write(fd, bytes(cls._SIZE))  # written, not sparse: a later write cannot fail for space
                return cls(mmap.mmap(fd, cls._SIZE), fd)
            except OSError:
                os.close(fd)
        return cls(mmap.mmap(-1, cls._SIZE))

    @classmethod
    def open(cls, fd: int) -> ProgressBoard:
        """The board behind ``fd`` (closed here), or one of this process only for ``fd`` -1."""
        if fd < 0:
            return cls(mmap.mmap(-1, cls._SIZE))
        memory = mmap.mmap(fd, cls._SIZE)
        os.close(fd)
        return cls(memory)

    def fileno(self) -> int:
        """The file to hand the child, or -1 for a board of this process only."""
        return -1 if self._fd is None else self._fd

    def write(self, settled: Settled) -> None:
        self._version += 1  # odd: writing
        self._VERSION.pack_into(self._memory, 0, self._version)
        struct.pack_into(self._FORMAT, self._memory, 0, self._version, *settled)
        self._version += 1  # even: written
        self._VERSION.pack_into(self._memory, 0, self._version)

    def read(self) -> Settled | None:
        """What the board says, or None when a write is under way (or was cut off by the child's death)."""
        for _ in range(3):
            version, *fields = struct.unpack_from(self._FORMAT, self._memory)
            if version % 2 == 0 and self._VERSION.unpack_from(self._memory)[0] == version:
                return Settled(*fields)
        return None

    def close(self) -> None:
        self._memory.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _memory_file() -> int:
    return os.memfd_create("otel-internal-events-progress", os.MFD_CLOEXEC)


def _temporary_file() -> int:
    fd, path = tempfile.mkstemp(prefix="otel-internal-events-")
    try:
        os.unlink(path)
    except OSError:
        os.close(fd)
        raise
    return fd


class Answer(NamedTuple):
    """The child's answer to one export message: the outcome and what it settled."""

    settled: Settled
    ok: bool
    pid: int
    transient_failures: int = 0
    #: The HTTP status of the first request the collector refused for good.
    rejected_status: int | None = None
    #: ``name: repr(exception)`` of the first event that could not be built.
    invalid_example: str | None = None
    #: Why the batch is not done (transient cause, or an unexpected error).
    error: str | None = None

    @property
    def seq(self) -> int:
        return self.settled.seq


def event_id(base: int, index: int) -> str:
    """The Snowplow event id of record ``index`` of the batch with id base ``base``: a version 4 UUID."""
    return str(uuid.UUID(int=(base + index) & _UUID_MASK, version=4))


_UUID_MASK = (1 << 128) - 1


class _Plan:
    """The payloads built for an export, the index (in the export's records) of each one's
    record, and the indices of the records that could not be built."""

    __slots__ = ("batch_id", "count", "indices", "invalid", "invalid_example", "offset", "payloads")

    def __init__(self, batch_id: int, offset: int, count: int) -> None:
        self.batch_id = batch_id
        self.offset = offset
        #: How many records the export had.
        self.count = count
        self.payloads: list[Payload] = []
        self.indices: list[int] = []
        self.invalid: list[int] = []
        #: ``name: repr(error)`` of the first record that could not be built.
        self.invalid_example: str | None = None

    def done_records(self, done_payloads: int) -> int:
        """How many leading records are settled when the first ``done_payloads`` payloads are
        (records that gave no payload are settled once the payloads before them are)."""
        return self.indices[done_payloads] if done_payloads < len(self.indices) else self.count

    def settled(self, seq: int, sent: SendResult) -> Settled:
        """What export ``seq`` has settled once ``sent`` is."""
        done = self.done_records(sent.done)
        rejected = sum(events for _status, events in sent.rejected)
        invalid = bisect.bisect_left(self.invalid, done)
        return Settled(seq, done, sent.delivered, rejected, invalid, sent.requests)

    def rest(self, done_payloads: int) -> _Plan:
        """What is left after the first ``done_payloads`` payloads, as a plan from the next record on."""
        done = self.done_records(done_payloads)
        rest = _Plan(self.batch_id, self.offset + done, self.count - done)
        rest.payloads = self.payloads[done_payloads:]
        rest.indices = [index - done for index in self.indices[done_payloads:]]
        rest.invalid = [index - done for index in self.invalid if index >= done]
        rest.invalid_example = self.invalid_example
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

    def export(self, message: Export, progress: Callable[[Settled], None] | None = None) -> Answer:
        """Send the message's records; ``progress(settled)`` after each request that settles some."""
        plan = self._pending
        if plan is None or (plan.batch_id, plan.offset) != (message.batch_id, message.offset):
            plan = self._build(message)
        self._pending = None
        seq = message.seq
        last = SendResult()  # what the requests made so far settled

        def report(sent: SendResult) -> None:
            last.done, last.delivered, last.requests = sent.done, sent.delivered, sent.requests
            last.rejected = list(sent.rejected)
            if progress is not None:
                progress(plan.settled(seq, sent))

        try:
            result = self._sink.send(plan.payloads, report)
        except Exception as exc:  # keep what the requests made so far settled; the rest is retried
            result = last
            result.unsent, result.error = plan.payloads[last.done :], repr(exc)
        if result.unsent:
            self._pending = plan.rest(result.done)
        return Answer(
            plan.settled(seq, result),
            not result.unsent,
            self._pid,
            transient_failures=1 if result.unsent else 0,
            rejected_status=result.rejected[0][0] if result.rejected else None,
            invalid_example=plan.invalid_example,
            error=result.error,
        )

    def _build(self, message: Export) -> _Plan:
        """The payloads of the message's records, and which of them could not be built."""
        records = message.records
        plan = _Plan(message.batch_id, message.offset, records.size)
        sink, base, created_ms = self._sink, message.id_base, message.created_ms
        rows = zip(records.names, records.timestamps, records.trace_ids, records.attributes, strict=True)
        for index, (name, timestamp, trace_id, attributes) in enumerate(rows):
            try:
                event = decode(name, attributes, timestamp)
                if event is None or not event.send_snowplow:  # the parent sends none of these
                    raise ValueError("not an internal event for Snowplow")
                payload = sink.payload(
                    event,
                    correlation_id=f"{trace_id:032x}" if trace_id else None,
                    event_id=event_id(base, message.offset + index),
                    created_ms=created_ms,
                )
            except Exception as exc:  # one malformed event must not hold back the batch
                if plan.invalid_example is None:
                    plan.invalid_example = f"{name}: {exc!r}"
                plan.invalid.append(index)
                continue
            plan.payloads.append(payload)
            plan.indices.append(index)
        return plan


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
                answer = Answer(Settled(message.seq, 0, 0, 0, 0, 0), False, os.getpid(), error=repr(exc))
            connection.send(answer)
    except (EOFError, OSError):
        return  # the parent is gone
    finally:
        if sink is not None:
            sink.close()
        connection.close()
        board.close()
