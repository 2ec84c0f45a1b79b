"""The Snowplow export process: builds payloads with snowplow-tracker and sends them.

:class:`~._snowplow.SnowplowExporter` starts it (``python -c``, see :func:`command`) with one
end of a ``multiprocessing.connection`` pair, and talks to it in messages:

* first the parent sends :class:`~..sinks.SnowplowSinkSettings`; the child builds its sink and
  answers ``("ready", pid)``, or ``("error", text)`` and exits;
* then ``("export", seq, batch_id, records)``, each answered by an :class:`Answer`;
  ``records`` are ``(event name, timestamp ns, trace id, attributes)`` tuples, decoded here;
* ``("stop",)``, or the end of the pipe (the parent is gone), ends the process.

A batch that fails for a transient cause keeps its undelivered payloads under its batch id:
when the parent sends that id again (the processor retrying the same batch), only those are
sent, with their original event ids, and the records that came with it are ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from ..sinks import Payload, SnowplowSink, SnowplowSinkSettings, TrackedEvent, event_from_attributes

__all__ = ["Answer", "CompactRecord", "command", "main"]

#: How much lower than the host's the export process's scheduling priority is.
_NICENESS = 10
#: What the parent sends of each log record: event name, timestamp (ns), trace id, attributes.
CompactRecord = tuple[str | None, int, int | None, dict[str, Any]]


class Answer(NamedTuple):
    """The child's answer to one export message: the outcome and what to add to the stats."""

    seq: int
    ok: bool
    pid: int
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


class BatchSender:
    """One batch at a time through ``sink``, keeping what a transient failure left undelivered."""

    def __init__(self, sink: SnowplowSink) -> None:
        self._sink = sink
        self._pid = os.getpid()
        self._pending_id: int | None = None
        self._pending: list[Payload] = []

    def export(self, seq: int, batch_id: int, records: Sequence[CompactRecord]) -> Answer:
        invalid = 0
        example = None
        if batch_id == self._pending_id:  # a retry: only what is left of the batch
            payloads = self._pending
        else:
            payloads, failed = self._build(records)
            if failed:
                invalid = len(failed)
                event, exc = failed[0]
                example = f"{event.name}: {exc!r}"
        self._pending_id, self._pending = batch_id, []
        if not payloads:
            return Answer(seq, True, self._pid, invalid=invalid, invalid_example=example)
        result = self._sink.send(payloads)
        if result.unsent:
            self._pending = result.unsent
        return Answer(
            seq,
            not result.unsent,
            self._pid,
            delivered=result.delivered,
            requests=result.requests,
            transient_failures=1 if result.unsent else 0,
            rejected=tuple(result.rejected),
            invalid=invalid,
            invalid_example=example,
            error=result.error,
        )

    def _build(self, records: Sequence[CompactRecord]) -> tuple[list[Payload], list[tuple[TrackedEvent, Exception]]]:
        events: list[TrackedEvent] = []
        correlation_ids: list[str | None] = []
        for name, timestamp, trace_id, attributes in records:
            event = event_from_attributes(name, attributes, timestamp)
            if event is None or not event.send_snowplow:
                continue
            events.append(event)
            correlation_ids.append(f"{trace_id:032x}" if trace_id else None)
        if not events:
            return [], []
        return self._sink.build(events, correlation_ids)


def command(executable: str, fd: int) -> list[str]:
    """The command line of a child that talks over file descriptor ``fd``."""
    # The directory this package was imported from, for a host that found it on its own sys.path.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        "import sys\n"
        f"if {root!r} not in sys.path: sys.path.append({root!r})\n"
        "from otel_internal_events.exporters._snowplow_child import main\n"
        f"main({fd})\n"
    )
    return [executable, "-c", code]


def main(fd: int) -> None:
    """Serve the parent on ``fd`` until it says stop or goes away."""
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
            if message[0] != "export":
                return
            _kind, seq, batch_id, records = message
            try:
                answer = sender.export(seq, batch_id, records)
            except Exception as exc:  # answer, so that the parent retries or gives up in bounds
                answer = Answer(seq, False, os.getpid(), error=repr(exc))
            connection.send(answer)
    except (EOFError, OSError):
        return  # the parent is gone
    finally:
        if sink is not None:
            sink.close()
        connection.close()
