"""Send tracker-protocol payloads to a Snowplow collector: batched POSTs, outcome per batch.

snowplow-tracker's own emitters do not fit a bounded, non-blocking pipeline: ``Emitter``
retries from timer threads without end (``flush()`` does nothing while a retry is pending,
then sends the whole buffer in one request), and ``AsyncEmitter`` hands batches to an
unbounded queue. So the tracker builds the payloads and this emitter only sends them, in the
tracker's wire format (``payload_data`` envelope, ``stm`` added at send time), and reports
what happened to each batch. Retrying is the caller's decision, from the outcome:

* 2xx: delivered;
* 413 (too large): the batch is split in two and each half sent again;
* 408, 429, 5xx and network errors: transient; sending stops and the rest is returned unsent;
* any other 4xx: the collector refused the batch, and sending it again cannot help.

snowplow-tracker and ``requests`` (its dependency) are imported on first use.
"""

from __future__ import annotations

import json
import os
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

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
    """What :meth:`SnowplowEmitter.send` did with a list of payloads."""

    delivered: int = 0
    requests: int = 0
    #: (HTTP status, events) of each batch the collector refused for good.
    rejected: list[tuple[int, int]] = field(default_factory=list)
    #: Payloads not delivered because of a transient failure, in order; empty when all went out.
    unsent: list[Payload] = field(default_factory=list)
    #: How many leading payloads are done with (delivered or refused for good): all but ``unsent``.
    done: int = 0
    #: Why sending stopped (status or exception), when ``unsent`` is not empty.
    error: str | None = None


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

        self._request_error: type[Exception] = requests.RequestException
        self._attach_sent_timestamp = tracker_module.Emitter.attach_sent_timestamp
        # Proxy settings from the environment are read once here, not on every request
        # (requests would walk os.environ per POST: a third of the sending CPU in a profile).
        self._proxies = requests.utils.get_environ_proxies(self.url)
        self._new_session: Any = requests.Session
        self._session: Any = self._make_session()
        ref = weakref.ref(self)

        def new_session_in_child() -> None:
            # A forked child must not write into the parent's keep-alive connections.
            emitter = ref()
            if emitter is not None:
                emitter._session = emitter._make_session()

        os.register_at_fork(after_in_child=new_session_in_child)

    def _make_session(self) -> Any:
        session = self._new_session()
        session.trust_env = False
        session.proxies.update(self._proxies)
        return session

    def send(self, payloads: list[Payload], progress: Callable[[SendResult], None] | None = None) -> SendResult:
        """Send ``payloads`` in order; stop at the first transient failure (see the module docstring).

        Requests go out one at a time and in order, so what is done at any moment is a prefix of
        ``payloads``: after each request that settles a batch (delivered or refused for good),
        ``progress`` is called with the result so far (its ``done`` is the length of that prefix).
        """
        result = SendResult()
        size = self.batch_size
        pending = deque(payloads[i : i + size] for i in range(0, len(payloads), size))
        while pending:
            batch = pending.popleft()
            status, error = self._post(batch)
            result.requests += 1
            if 200 <= status < 300:
                result.delivered += len(batch)
            elif status == 413 and len(batch) > 1:
                half = len(batch) // 2
                pending.extendleft((batch[half:], batch[:half]))
                continue
            elif status < 0 or status >= 500 or status in _TRANSIENT_4XX:
                result.unsent = [payload for part in (batch, *pending) for payload in part]
                result.error = error or f"HTTP {status}"
                break
            else:
                result.rejected.append((status, len(batch)))
            result.done += len(batch)
            if progress is not None:
                progress(result)
        return result

    def _post(self, batch: list[Payload]) -> tuple[int, str | None]:
        """One request; the HTTP status, or -1 and the error when none came back."""
        self._attach_sent_timestamp(batch)
        body = json.dumps({"schema": PAYLOAD_DATA_SCHEMA, "data": batch}).encode("utf-8")
        try:
            response = self._session.post(self.url, data=body, headers=_HEADERS, timeout=self._timeout_s)
            response.content  # noqa: B018 - read the body so the connection goes back to the pool
        except self._request_error as exc:
            return -1, repr(exc)
        return int(response.status_code), None

    def close(self) -> None:
        self._session.close()
