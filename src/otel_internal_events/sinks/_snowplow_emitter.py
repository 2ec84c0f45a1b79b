"""Send tracker-protocol payloads to a Snowplow collector: batched POSTs, outcome per batch.

snowplow-tracker's own emitters do not fit a bounded, non-blocking pipeline: ``Emitter``
retries from timer threads without end (``flush()`` does nothing while a retry is pending,
then sends the whole buffer in one request), and ``AsyncEmitter`` hands batches to an
unbounded queue. So the tracker builds the payloads and this emitter only sends them, in the
tracker's wire format (``payload_data`` envelope, ``stm`` added at send time), and adds up
what happened to each batch. Retrying is the caller's decision, from the outcome:

* 2xx: delivered;
* 413 (too large): the batch is split in two and each half sent again;
* 408, 429, 5xx and network errors (any exception while sending): transient; sending stops and
  the rest is left unsent;
* any other 4xx: the collector refused the batch, and sending it again cannot help.

snowplow-tracker and ``requests`` (its dependency) are imported on first use.
"""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from .._forks import renew_in_forked_child
from ..errors import ConfigurationError
from ..iglu import PAYLOAD_DATA_SCHEMA
from ._snowplow_tracker import load_snowplow_tracker

__all__ = ["TP2_PATH", "Payload", "SendResult", "SnowplowEmitter", "collector_url"]

#: One event in the tracker protocol, every value a string (as the tracker's POST emitter sends).
Payload = dict[str, str]
TP2_PATH: Final = "/com.snowplowanalytics.snowplow/tp2"
_TRANSIENT_4XX = frozenset({408, 429})
_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def collector_url(endpoint: str) -> str:
    """The tracker-protocol POST URL of a collector endpoint (``host``, ``http://host:port``, or the full URL)."""
    url = endpoint.strip().rstrip("/")
    if not url:
        raise ConfigurationError("snowplow_endpoint is empty")
    if "://" not in url:
        url = "https://" + url  # a bare host name, as GitLab treats its collector hostname
    scheme = url.split("://", 1)[0].lower()
    if scheme not in {"http", "https"}:
        raise ConfigurationError(f"snowplow_endpoint must be an http(s) URL, got {endpoint!r}")
    return url if url.endswith(TP2_PATH) else url + TP2_PATH


@dataclass(slots=True)
class SendResult:
    """What :meth:`SnowplowEmitter.send` did, added up over the calls it was given to."""

    delivered: int = 0
    requests: int = 0
    #: Events the collector refused for good, and the HTTP status of the first refusal.
    rejected: int = 0
    first_rejected_status: int | None = None
    #: Transient failures (each one ends a call of ``send``), and the status or exception of the last one.
    transient_failures: int = 0
    last_error: str | None = None
    #: The payloads the last call left unsent, in order.
    unsent: list[Payload] = field(default_factory=list)


class SnowplowEmitter:
    """POSTs payloads to one collector in batches of ``batch_size``, over one keep-alive session.

    Not thread-safe: one exporter thread uses it. ``timeout_millis`` bounds each request. A
    forked child gets a session of its own.
    """

    def __init__(self, endpoint: str, *, batch_size: int = 200, timeout_millis: int = 10_000) -> None:
        if batch_size <= 0:
            raise ConfigurationError("snowplow_batch_size must be positive")
        self.url = collector_url(endpoint)
        self.batch_size = batch_size
        self._timeout_s = timeout_millis / 1000
        tracker_module = load_snowplow_tracker()  # first: it brings requests, and tames its logging
        import requests

        self._attach_sent_timestamp = tracker_module.Emitter.attach_sent_timestamp
        # Proxy settings from the environment are read once here, not on every request
        # (requests would walk os.environ per POST: a third of the sending CPU in a profile).
        self._proxies = requests.utils.get_environ_proxies(self.url)
        self._requests: Any = requests
        self._new_session()
        renew_in_forked_child(self, SnowplowEmitter._new_session)

    def _new_session(self) -> None:
        """Open a keep-alive session: when created, and in a forked copy (not to write into the parent's)."""
        self._session: Any = self._requests.Session()
        self._session.trust_env = False
        self._session.proxies.update(self._proxies)

    def send(
        self, payloads: list[Payload], deadline: float | None = None, result: SendResult | None = None
    ) -> SendResult:
        """Send ``payloads`` in order, adding what happened to ``result`` (a new one by default).

        The call stops at the first transient failure, or before a request other than its first
        once ``deadline`` (a ``time.monotonic()`` value) has passed; ``result.unsent`` then holds
        the payloads not sent.
        """
        result = SendResult() if result is None else result
        result.unsent = []
        size = self.batch_size
        pending = deque(payloads[i : i + size] for i in range(0, len(payloads), size))
        first = result.requests
        while pending:
            if deadline is not None and result.requests > first and time.monotonic() >= deadline:
                result.unsent = [payload for part in pending for payload in part]
                break
            batch = pending.popleft()
            status, error = self._post(batch)
            result.requests += 1
            if 200 <= status < 300:
                result.delivered += len(batch)
            elif status == 413 and len(batch) > 1:
                half = len(batch) // 2
                pending.extendleft((batch[half:], batch[:half]))
            elif status < 0 or status >= 500 or status in _TRANSIENT_4XX:
                result.transient_failures += 1
                result.last_error = error or f"HTTP {status}"
                result.unsent = [payload for part in (batch, *pending) for payload in part]
                break
            else:
                result.rejected += len(batch)
                result.first_rejected_status = result.first_rejected_status or status
        return result

    def _post(self, batch: list[Payload]) -> tuple[int, str | None]:
        """One request; the HTTP status, or -1 and the error when none came back."""
        self._attach_sent_timestamp(batch)
        body = json.dumps({"schema": PAYLOAD_DATA_SCHEMA, "data": batch}).encode("utf-8")
        try:
            response = self._session.post(self.url, data=body, headers=_HEADERS, timeout=self._timeout_s)
            response.content  # noqa: B018 - read the body so the connection goes back to the pool
        except Exception as exc:  # requests' errors, and any other: the request may be sent again
            return -1, repr(exc)
        return int(response.status_code), None

    def close(self) -> None:
        self._session.close()
