"""The Snowplow export process: builds a batch's payloads with snowplow-tracker, sends them, retries.

:class:`~._snowplow.SnowplowExporter` starts it (``python -c``, see :func:`command`) with one
end of a ``multiprocessing.connection`` pair, and talks to it in messages:

* first the parent sends :class:`~..sinks.SnowplowSinkSettings`; the child builds its sink and
  answers ``("ready", pid)``, or ``("error", text)`` and exits;
* then one :class:`Batch` at a time, answered by one :class:`Answer` once every record of it
  is settled: delivered, refused by the collector, impossible to build, or given up on;
* the end of the pipe (the parent stops it, or is gone) ends the process; met while a batch
  waits to be retried, it gives up the rest of the batch first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from ..sinks import Payload, SendResult, SnowplowSink, SnowplowSinkSettings
from ..wire import decode

__all__ = ["Answer", "Batch", "command", "event_id", "main"]

#: How much lower than the host's the export process's scheduling priority is.
_NICENESS = 10
_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 2.0
_UUID_MASK = (1 << 128) - 1


class Batch(NamedTuple):
    """The records of one export, column by column (half the cost of a tuple per record to
    gather and to pickle, and that cost is on the host's GIL)."""

    #: A random 128-bit number; the event id of record ``i`` is :func:`event_id` of ``(id_base, i)``.
    id_base: int
    #: When the parent took the batch (ms since the epoch): every event's device time.
    created_ms: int
    #: How long the child may send and retry, from when it takes the batch (each attempt's first request goes).
    retry_s: float
    names: list[str | None]
    timestamps: list[int]
    trace_ids: list[int | None]
    attributes: list[dict[str, Any]]


class Answer(NamedTuple):
    """What became of a batch: its records are ``delivered + rejected + invalid + given_up``."""

    delivered: int = 0
    rejected: int = 0
    invalid: int = 0
    given_up: int = 0
    requests: int = 0
    transient_failures: int = 0
    #: The HTTP status of the first request the collector refused for good.
    first_rejected_status: int | None = None
    #: ``name: repr(error)`` of the first record that could not be built.
    first_invalid: str | None = None
    #: Why the last attempt failed (a status or an exception).
    last_error: str | None = None


def event_id(base: int, index: int) -> str:
    """The Snowplow event id of record ``index`` of the batch with id base ``base``: a version 4 UUID."""
    return str(uuid.UUID(int=(base + index) & _UUID_MASK, version=4))


def deliver(sink: SnowplowSink, batch: Batch, stop_requested: Callable[[float], bool]) -> Answer:
    """Build the batch's payloads and send them, retrying transient failures with backoff until
    ``batch.retry_s`` has passed or ``stop_requested(seconds)``, which waits up to that long for
    the parent to close the pipe, says so."""
    deadline = time.monotonic() + batch.retry_s
    payloads, first_invalid = _build(sink, batch)
    sent = SendResult(unsent=payloads)
    backoff = _FIRST_BACKOFF_S
    while sent.unsent:
        sink.send(sent.unsent, deadline, sent)
        if not sent.unsent or time.monotonic() + backoff > deadline or stop_requested(backoff):
            break
        backoff = min(backoff * 2, _MAX_BACKOFF_S)
    return Answer(
        delivered=sent.delivered,
        rejected=sent.rejected,
        invalid=len(batch.names) - len(payloads),
        given_up=len(sent.unsent),
        requests=sent.requests,
        transient_failures=sent.transient_failures,
        first_rejected_status=sent.first_rejected_status,
        first_invalid=first_invalid,
        last_error=sent.last_error,
    )


def _build(sink: SnowplowSink, batch: Batch) -> tuple[list[Payload], str | None]:
    """The payloads of the records that can be built, and why the first other one cannot. Built
    again (by a new child, after one died), a batch gives the same events, ids and times."""
    payloads = []
    first_invalid = None
    rows = zip(batch.names, batch.timestamps, batch.trace_ids, batch.attributes, strict=True)
    for index, (name, timestamp, trace_id, attributes) in enumerate(rows):
        try:
            event = decode(name, attributes, timestamp)
            if event is None or not event.send_snowplow:  # the parent sends none of these
                raise ValueError("not an internal event for Snowplow")
            payload = sink.payload(
                event,
                correlation_id=f"{trace_id:032x}" if trace_id else None,
                event_id=event_id(batch.id_base, index),
                created_ms=batch.created_ms,
            )
        except Exception as exc:  # one malformed event must not hold back the batch
            first_invalid = first_invalid or f"{name}: {exc!r}"
            continue
        payloads.append(payload)
    return payloads, first_invalid


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
    """Serve the parent on file descriptor ``fd`` until the pipe closes."""
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
        while isinstance(batch := connection.recv(), Batch):
            try:
                answer = deliver(sink, batch, connection.poll)
            except Exception as exc:  # answer all the same, so that the parent counts the batch
                answer = Answer(given_up=len(batch.names), last_error=repr(exc))
            connection.send(answer)
    except (EOFError, OSError):
        return  # the parent closed the pipe, or is gone
    finally:
        if sink is not None:
            sink.close()
        connection.close()
