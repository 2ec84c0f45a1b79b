"""Turn tracked events into Snowplow structured events, built by the real snowplow-tracker.

Each event becomes what GitLab's ``track_event`` sends (reference §6): a structured event
(category, action = event name, label/property/value from the additional properties, the
event's own time as the true timestamp ``ttm``) with two contexts, ``gitlab_standard`` (custom
properties in ``extra``, a pseudonymised ``user_id``) and ``gitlab_service_ping``.

snowplow-tracker is imported on first use, never at package import (see
:func:`load_snowplow_tracker`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import threading
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Final

from ..errors import ConfigurationError
from ..iglu import GITLAB_SERVICE_PING_SCHEMA, GITLAB_STANDARD_SCHEMA, SchemaKey
from ..wire import TrackedEvent
from ._snowplow_emitter import Payload, SendResult, SnowplowEmitter, collector_url
from ._snowplow_tracker import load_snowplow_tracker

__all__ = ["DEFAULT_CATEGORY", "NO_SECRET_WARNING", "SOURCE", "SnowplowSink", "SnowplowSinkSettings", "pseudonymize"]

_log = logging.getLogger("otel_internal_events.snowplow")

#: Category of events tracked without a class or an explicit category, as GitLab's.
DEFAULT_CATEGORY: Final = "InternalEventTracking"
#: What the ``source`` field of the standard context says (GitLab's backend says ``gitlab-rails``).
SOURCE: Final = "otel-internal-events"
#: Additional properties that have their own structured-event field; the others go to ``extra``.
_BASE_PROPERTIES = frozenset({"label", "property", "value"})
_PSEUDONYMS = 65_536
#: Logged (once per sink) when user ids cannot be pseudonymised and are left out.
NO_SECRET_WARNING: Final = (
    "Snowplow: user ids are left out of the events because no pseudonymization secret is set "
    "(set OTEL_INTERNAL_EVENTS_PSEUDONYMIZATION_SECRET); raw user ids are never sent"
)


def pseudonymize(user_id: object, secret: bytes | hmac.HMAC) -> str:
    """The user id as sent to Snowplow: base64 of HMAC-SHA256(secret, id).

    The same id and secret always give the same value (so distinct users can be counted), and
    without the secret the id cannot be recovered by hashing candidate ids. ``secret`` may be
    a keyed ``hmac.new(secret, digestmod="sha256")`` to copy from (cheaper per call).
    """
    keyed = secret.copy() if isinstance(secret, hmac.HMAC) else hmac.new(secret, digestmod=hashlib.sha256)
    keyed.update(str(user_id).encode("utf-8"))
    return base64.b64encode(keyed.digest()).decode("ascii")


class _PayloadCollector:
    """The tracker's emitter: keeps each payload the tracker built, stringified as its POST emitter does."""

    def __init__(self) -> None:
        self.payloads: list[Payload] = []

    def input(self, payload: dict[str, Any]) -> None:
        self.payloads.append({key: str(value) for key, value in payload.items()})

    def flush(self) -> None:
        """Nothing to do: the sink sends."""

    def async_flush(self) -> None:
        """Nothing to do: the sink sends."""

    def sync_flush(self) -> None:
        """Nothing to do: the sink sends."""


class SnowplowSink:
    """Builds Snowplow payloads of tracked events and sends them through a :class:`SnowplowEmitter`.

    :meth:`payload` runs the real snowplow-tracker (``Tracker``, ``StructuredEvent``,
    ``SelfDescribingJson``): it adds the event id, timestamps, tracker version and encodes the
    contexts (base64 ``cx``, or ``co`` with ``encode_base64=False``). :meth:`send` delivers
    built payloads; the two are separate so that a caller can retry exactly what was not delivered.

    It is made of :class:`SnowplowSinkSettings`, with the emitter they describe unless one is
    given. Without ``pseudonymization_secret`` the user id is left out of the standard context
    (and a warning says so once); the raw id is never sent.
    """

    def __init__(self, settings: SnowplowSinkSettings, emitter: SnowplowEmitter | None = None) -> None:
        tracker_module = load_snowplow_tracker()
        self._sdj = tracker_module.SelfDescribingJson
        self._structured_event = tracker_module.StructuredEvent
        self._collector = _PayloadCollector()
        self._tracker = tracker_module.Tracker(
            namespace=settings.namespace,
            emitters=self._collector,
            subject=tracker_module.Subject().set_platform("srv"),
            app_id=settings.app_id,
            encode_base64=settings.encode_base64,
        )
        if emitter is None:
            emitter = SnowplowEmitter(
                settings.endpoint, batch_size=settings.batch_size, timeout_millis=settings.timeout_millis
            )
        self._emitter = emitter
        self._standard_schema = settings.standard_schema
        self._environment = settings.environment
        secret = settings.pseudonymization_secret
        if isinstance(secret, str):
            secret = secret.encode("utf-8")
        self._keyed = hmac.new(secret, digestmod=hashlib.sha256) if secret else None
        if self._keyed is None:
            _log.warning(NO_SECRET_WARNING)
        #: Pseudonyms of the user ids seen lately: a user's events come in runs, and an HMAC costs
        #: more than the rest of the standard context. Emptied when it holds _PSEUDONYMS ids.
        self._pseudonyms: dict[object, str] = {}
        self._version = _package_version()
        self._lock = threading.Lock()
        self._last_iso: tuple[int | None, str] = (None, "")

    @property
    def emitter(self) -> SnowplowEmitter:
        return self._emitter

    def standard_context(
        self, event: TrackedEvent, correlation_id: str | None = None, generated_at: str | None = None
    ) -> dict[str, Any]:
        """The ``gitlab_standard`` data of ``event`` (GitLab's field set, reference §6.2)."""
        user_id = event.user_id
        return {
            "environment": self._environment,
            "source": SOURCE,
            "correlation_id": correlation_id,
            "plan": None,
            "extra": {k: v for k, v in event.properties.items() if k not in _BASE_PROPERTIES},
            "user_id": self._pseudonym(user_id) if user_id is not None and self._keyed else None,
            "global_user_id": None,
            "user_type": None,
            "is_gitlab_team_member": None,
            "namespace_id": event.namespace_id,
            "ultimate_parent_namespace_id": None,
            "project_id": event.project_id,
            "feature_enabled_by_namespace_ids": list(event.feature_enabled_by_namespace_ids) or None,
            "realm": None,
            "deployment_type": None,
            "instance_id": None,
            "unique_instance_id": None,
            "host_name": None,
            "instance_version": self._version,
            "context_generated_at": generated_at or _now_iso(),
        }

    def _pseudonym(self, user_id: object) -> str:
        pseudonyms = self._pseudonyms
        pseudonym = pseudonyms.get(user_id)
        if pseudonym is None:
            assert self._keyed is not None
            if len(pseudonyms) >= _PSEUDONYMS:
                pseudonyms.clear()
            pseudonym = pseudonyms[user_id] = pseudonymize(user_id, self._keyed)
        return pseudonym

    @staticmethod
    def service_ping_context(event: TrackedEvent) -> dict[str, Any]:
        """The ``gitlab_service_ping`` data: internal events always count in ``redis_hll``."""
        return {"data_source": "redis_hll", "event_name": event.name}

    def payload(
        self,
        event: TrackedEvent,
        *,
        correlation_id: str | None = None,
        event_id: str | None = None,
        created_ms: int | None = None,
    ) -> Payload:
        """The tracker-protocol payload of ``event``; raises what the tracker raises for a malformed one.

        ``correlation_id`` (the trace id of the tracking call) goes into the standard context;
        outside a trace it is null. The tracker gives the event a random id and takes the
        current time as the device time (``dtm``) and the context's ``context_generated_at``;
        ``event_id`` and ``created_ms`` (ms since the epoch) set them instead, so that an event
        built again after a failure is the same event, byte for byte, and a collector or
        pipeline that deduplicates by event id and fingerprint sees one event.
        """
        generated_at = _now_iso() if created_ms is None else self._iso(created_ms)
        structured = self._structured(event, correlation_id, generated_at)
        with self._lock:
            collected = self._collector.payloads = []
            self._tracker.track(structured)
        payload = collected[0]
        if event_id is not None:
            payload["eid"] = event_id
        if created_ms is not None:
            payload["dtm"] = str(created_ms)
        return payload

    def _iso(self, created_ms: int) -> str:
        """``created_ms`` as an ISO 8601 UTC time; the last one is kept (a batch shares one)."""
        last_ms, last_iso = self._last_iso
        if created_ms != last_ms:
            stamp = dt.datetime.fromtimestamp(created_ms / 1000, dt.UTC)
            last_iso = stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self._last_iso = (created_ms, last_iso)
        return last_iso

    def _structured(self, event: TrackedEvent, correlation_id: str | None, generated_at: str) -> Any:
        properties = event.properties
        label = properties.get("label")
        property_ = properties.get("property")
        value = properties.get("value")
        sdj = self._sdj
        return self._structured_event(
            category=event.category or DEFAULT_CATEGORY,
            action=event.name,
            label=None if label is None else str(label),
            property_=None if property_ is None else str(property_),
            value=value if isinstance(value, int | float) and not isinstance(value, bool) else None,
            context=[
                sdj(self._standard_schema, self.standard_context(event, correlation_id, generated_at)),
                sdj(GITLAB_SERVICE_PING_SCHEMA, self.service_ping_context(event)),
            ],
            true_timestamp=event.timestamp_ns // 1_000_000,
        )

    def send(
        self, payloads: list[Payload], deadline: float | None = None, result: SendResult | None = None
    ) -> SendResult:
        """Deliver built payloads; see :meth:`SnowplowEmitter.send`."""
        return self._emitter.send(payloads, deadline, result)

    def close(self) -> None:
        self._emitter.close()


@dataclass(frozen=True, slots=True)
class SnowplowSinkSettings:
    """Everything a :class:`SnowplowSink` and its emitter are made of, as plain (picklable) values.

    Checked when created, without importing snowplow-tracker, so that a process can validate
    the settings and leave building the sink (:meth:`build`) to another process.
    """

    endpoint: str
    batch_size: int = 200
    timeout_millis: int = 10_000
    app_id: str = "otel-internal-events"
    namespace: str = "gl"
    environment: str = "production"
    standard_schema: str = GITLAB_STANDARD_SCHEMA
    pseudonymization_secret: str | bytes | None = field(default=None, repr=False)
    encode_base64: bool = True

    def __post_init__(self) -> None:
        collector_url(self.endpoint)
        if self.batch_size <= 0:
            raise ConfigurationError("snowplow_batch_size must be positive")
        try:
            SchemaKey.parse(self.standard_schema)
        except ValueError as exc:
            raise ConfigurationError(f"snowplow_standard_schema: {exc}") from None
        if not self.environment:
            raise ConfigurationError("snowplow_environment must not be empty (the schema requires it)")

    @property
    def url(self) -> str:
        """The collector's tracker-protocol POST URL."""
        return collector_url(self.endpoint)

    def build(self) -> SnowplowSink:
        """The sink and its emitter (imports snowplow-tracker and requests)."""
        return SnowplowSink(self)


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _package_version() -> str | None:
    try:
        return metadata.version("otel-internal-events")
    except metadata.PackageNotFoundError:
        return None
