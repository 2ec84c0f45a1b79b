"""The Snowplow tracker protocol as a collector reads it: request -> raw events -> checked events.

A POST to ``/com.snowplowanalytics.snowplow/tp2`` carries a ``payload_data`` self-describing
JSON whose data is a list of events; a GET to ``/i`` carries one event in its query string.
Each event is a map of protocol fields (``e``, ``se_ca``, ``cx``, ...). Contexts come as
base64 (``cx``: URL-safe or standard alphabet, padded or not) or as plain JSON (``co``); a
self-describing event as ``ue_px`` / ``ue_pr``. Every context and self-describing event is
validated against its Iglu schema, and the event itself for the fields its type requires.

Checking is the hot path of the micro collector, so it does only what a verdict needs: a good
event is kept as its parameters plus what the filters read (:class:`GoodEvent`), and the
collector's full view of it (timestamps in ISO 8601, decoded contexts) is built when it is
asked for, by :meth:`GoodEvent.view`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ..iglu import SchemaKey
from ._iglu_registry import IgluRegistry

__all__ = [
    "CheckedEvent",
    "GoodEvent",
    "ProtocolError",
    "check_event",
    "event_from_query",
    "events_from_body",
    "iso_time",
]

#: Tracker-protocol ``e`` -> the event type a collector reports.
EVENT_TYPES = {
    "se": "struct",
    "ue": "unstruct",
    "pv": "page_view",
    "pp": "page_ping",
    "tr": "transaction",
    "ti": "transaction_item",
}
_SCHEMA_OF_TYPE = {
    "struct": "iglu:com.google.analytics/event/jsonschema/1-0-0",
    "page_view": "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0",
    "page_ping": "iglu:com.snowplowanalytics.snowplow/page_ping/jsonschema/1-0-0",
    "transaction": "iglu:com.snowplowanalytics.snowplow/transaction/jsonschema/1-0-0",
    "transaction_item": "iglu:com.snowplowanalytics.snowplow/transaction_item/jsonschema/1-0-0",
}
_CONTEXTS_ENVELOPE = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"
_REQUIRED = {"se": ("se_ca", "se_ac"), "pv": ("url",), "pp": ("url",), "tr": ("tr_id", "tr_tt"), "ti": ("ti_id",)}
_PLATFORMS = frozenset({"pc", "tv", "mob", "cnsl", "iot", "web", "srv", "app", "headset"})
_TIMESTAMPS = {"dtm": "dvce_created_tstamp", "stm": "dvce_sent_tstamp", "ttm": "true_tstamp"}
#: Protocol field -> canonical event field, for the plain string fields.
_FIELDS = {
    "aid": "app_id",
    "p": "platform",
    "eid": "event_id",
    "tna": "name_tracker",
    "tv": "v_tracker",
    "uid": "user_id",
    "duid": "domain_userid",
    "nuid": "network_userid",
    "tnuid": "network_userid",
    "ip": "user_ipaddress",
    "ua": "useragent",
    "lang": "br_lang",
    "tz": "os_timezone",
    "url": "page_url",
    "page": "page_title",
    "refr": "page_referrer",
    "se_ca": "se_category",
    "se_ac": "se_action",
    "se_la": "se_label",
    "se_pr": "se_property",
}
_DIGITS = re.compile(r"^-?[0-9]+$")
#: The form every tracker writes an event id in; anything else is left to :class:`uuid.UUID` to judge.
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Milliseconds since the epoch that are surely a time ``datetime`` can hold (up to 13 digits: year 2286).
_SURELY_A_TIME_DIGITS = 13
_STR = frozenset({str})
_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")
_URLSAFE_TO_STANDARD_BYTES = bytes.maketrans(b"-_", b"+/")


class ProtocolError(ValueError):
    """A request that cannot be split into events (its events are then not looked at)."""


@dataclass(frozen=True, slots=True)
class GoodEvent:
    """A good event as the collector keeps it: its parameters, and what the filters of
    ``/micro/good`` read. :meth:`view` builds the collector's full view of it.

    ``generated_id`` is the event id the collector gave an event that came without one.
    """

    params: Mapping[str, str]
    collector_tstamp: str
    generated_id: str | None
    event_type: str
    schema: str | None
    contexts: list[str]

    def view(self) -> dict[str, Any]:
        """The event as ``/micro/good`` shows it (built anew at each call)."""
        params = self.params
        event: dict[str, Any] = {"event": self.event_type, "collector_tstamp": self.collector_tstamp}
        for name, column in _FIELDS.items():
            if params.get(name):
                event[column] = params[name]
        for name, column in _TIMESTAMPS.items():
            if name in params:
                event[column] = _timestamp(params[name])
        if params.get("se_va"):
            event["se_value"] = float(params["se_va"])
        if self.generated_id is not None:
            event["event_id"] = self.generated_id
        event["derived_tstamp"] = event.get("true_tstamp") or event.get("dvce_created_tstamp") or self.collector_tstamp
        # Decoding again what was checked when the event came cannot fail.
        _, contexts = _envelope(params, "cx", "co", [])
        event["contexts"] = {"schema": _CONTEXTS_ENVELOPE, "data": contexts["data"] if contexts else []}
        if self.event_type == "unstruct":
            _, unstruct = _envelope(params, "ue_px", "ue_pr", [])
            event["unstruct_event"] = unstruct["data"] if unstruct else None
        return {
            "event": event,
            "eventType": self.event_type,
            "schema": self.schema,
            "contexts": list(self.contexts),
            "rawEvent": {"parameters": dict(params)},
        }


@dataclass(slots=True)
class CheckedEvent:
    """One event after checking: ``good`` (as the collector keeps it) or ``errors``."""

    raw: object
    good: GoodEvent | None
    errors: list[str]


def events_from_body(body: bytes, registry: IgluRegistry) -> list[object]:
    """The events of a tracker-protocol POST body; :class:`ProtocolError` says why there are none."""
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"the body is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(document, dict) or "schema" not in document or "data" not in document:
        raise ProtocolError("the body is not a self-describing JSON (an object with schema and data)")
    schema = document["schema"]
    if not _is_schema(schema, "com.snowplowanalytics.snowplow", "payload_data"):
        raise ProtocolError(f"the body's schema is not payload_data: {schema!r}")
    errors = registry.validate(schema, document["data"])
    if errors:
        raise ProtocolError("; ".join(errors))
    events: list[object] = document["data"]
    return events


def event_from_query(query: str) -> dict[str, str]:
    """The event of a GET ``/i`` query string (the last of repeated fields wins)."""
    return dict(parse_qsl(query, keep_blank_values=True))


def check_event(raw: object, registry: IgluRegistry, collector_tstamp: str) -> CheckedEvent:
    """Check one event: required fields, known type, numbers, then each context against Iglu.

    ``collector_tstamp`` is the time the request came, in ISO 8601 (:func:`iso_time`).
    """
    if not isinstance(raw, dict):
        return CheckedEvent(raw, None, [f"an event must be a JSON object, got {type(raw).__name__}"])
    params: dict[str, str] = raw
    if not _STR.issuperset(map(type, raw.values())):  # a JSON value that is not a string: as text
        params = {str(key): value if isinstance(value, str) else json.dumps(value) for key, value in raw.items()}
    errors: list[str] = []
    kind = params.get("e")
    event_type = EVENT_TYPES.get(kind or "")
    if event_type is None:
        errors.append(f"e: unknown event type {kind!r} (known: {', '.join(sorted(EVENT_TYPES))})")
    if not params.get("tv"):
        errors.append("tv: the tracker version is required")
    for name in _REQUIRED.get(kind or "", ()):
        if not params.get(name):
            errors.append(f"{name}: required for e={kind}")
    platform = params.get("p")
    if platform is not None and platform not in _PLATFORMS:
        errors.append(f"p: unknown platform {platform!r}")
    eid = params.get("eid")
    if eid is not None and not _is_uuid(eid):
        errors.append(f"eid: not a UUID: {eid!r}")
    for name in _TIMESTAMPS:
        if name in params and not _is_timestamp(params[name]):
            errors.append(f"{name}: not a timestamp in milliseconds: {params[name]!r}")
    if params.get("se_va"):
        try:
            float(params["se_va"])
        except ValueError:
            errors.append(f"se_va: not a number: {params['se_va']!r}")
    contexts = _contexts(params, registry, errors)
    schema = _SCHEMA_OF_TYPE.get(event_type or "")
    if kind == "ue":
        unstruct = _unstruct(params, registry, errors)
        if unstruct is not None:
            schema = unstruct.get("schema")
    if errors or event_type is None:
        return CheckedEvent(raw, None, errors)
    generated_id = None if "eid" in params else str(uuid.uuid4())
    good = GoodEvent(params, collector_tstamp, generated_id, event_type, schema, [c["schema"] for c in contexts])
    return CheckedEvent(raw, good, [])


def _envelope(params: Mapping[str, str], encoded: str, plain: str, errors: list[str]) -> tuple[str, Any]:
    """(field, its decoded JSON): the base64 ``encoded`` field, else the ``plain`` one; ("", None) if neither."""
    if encoded in params:
        return encoded, _decode(params[encoded], True, encoded, errors)
    if plain in params:
        return plain, _decode(params[plain], False, plain, errors)
    return "", None


def _contexts(params: Mapping[str, str], registry: IgluRegistry, errors: list[str]) -> list[dict[str, Any]]:
    field, envelope = _envelope(params, "cx", "co", errors)
    if envelope is None:
        return []
    if not isinstance(envelope, dict) or not _is_schema(
        envelope.get("schema"), "com.snowplowanalytics.snowplow", "contexts"
    ):
        errors.append(f"{field}: not a contexts self-describing JSON")
        return []
    data = envelope.get("data")
    problems = registry.validate(envelope["schema"], data)
    if problems:
        errors.extend(f"{field}: {problem}" for problem in problems)
        return []
    if not isinstance(data, list) or not all(isinstance(context, dict) for context in data):
        errors.append(f"{field}: the contexts must be a list of self-describing JSONs")
        return []
    for context in data:
        problems = registry.validate(context.get("schema"), context.get("data"))
        if problems:
            errors.extend(f"{field}: {problem}" for problem in problems)
    return data


def _unstruct(params: Mapping[str, str], registry: IgluRegistry, errors: list[str]) -> dict[str, Any] | None:
    field, envelope = _envelope(params, "ue_px", "ue_pr", errors)
    if not field:
        errors.append("ue_px or ue_pr: required for e=ue")
        return None
    if envelope is None:
        return None
    if not isinstance(envelope, dict) or not _is_schema(
        envelope.get("schema"), "com.snowplowanalytics.snowplow", "unstruct_event"
    ):
        errors.append(f"{field}: not an unstruct_event self-describing JSON")
        return None
    problems = registry.validate(envelope["schema"], envelope.get("data"))
    if problems:
        errors.extend(f"{field}: {problem}" for problem in problems)
        return None
    inner = envelope.get("data")
    if not isinstance(inner, dict):
        errors.append(f"{field}: the event must be a self-describing JSON")
        return None
    errors.extend(f"{field}: {problem}" for problem in registry.validate(inner.get("schema"), inner.get("data")))
    return inner


def _decode(value: str, is_base64: bool, field: str, errors: list[str]) -> Any:
    """JSON from a ``cx``/``ue_px`` (base64, either alphabet, padding optional) or ``co``/``ue_pr`` value."""
    text = value
    if is_base64:
        try:
            text = _base64_text(value)
        except (binascii.Error, ValueError) as exc:
            errors.append(f"{field}: not base64-encoded UTF-8: {exc}")
            return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        errors.append(f"{field}: malformed JSON: {exc}")
        return None


def _base64_text(value: str) -> str:
    """The UTF-8 text of base64 ``value`` in either alphabet, padded or not."""
    compact = value.strip()
    try:
        data = compact.encode("ascii")
    except UnicodeEncodeError:  # let base64 refuse it, in its own words
        standard = compact.translate(_URLSAFE_TO_STANDARD)
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True).decode("utf-8")
    data = data.translate(_URLSAFE_TO_STANDARD_BYTES) + b"=" * (-len(data) % 4)
    return binascii.a2b_base64(data, strict_mode=True).decode("utf-8")


@functools.lru_cache(maxsize=1024)
def _schema_name(uri: str) -> tuple[str, str] | None:
    """(vendor, name) of Iglu URI ``uri``; None when it is not one. The same few URIs come in every event."""
    try:
        key = SchemaKey.parse(uri)
    except ValueError:
        return None
    return key.vendor, key.name


def _is_schema(uri: object, vendor: str, name: str) -> bool:
    return isinstance(uri, str) and _schema_name(uri) == (vendor, name)


def _is_uuid(value: str) -> bool:
    if _CANONICAL_UUID.fullmatch(value):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_timestamp(value: str) -> bool:
    if len(value) <= _SURELY_A_TIME_DIGITS and value.isascii() and value.isdigit():
        return True  # what trackers send: no need to make the time
    return _timestamp(value) is not None


def _timestamp(value: str) -> str | None:
    if not _DIGITS.match(value):
        return None
    try:
        return iso_time(dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC))
    except (OverflowError, OSError, ValueError):
        return None


def iso_time(when: dt.datetime) -> str:
    """``when`` (UTC) as the collector writes times: ISO 8601 to the millisecond, with ``Z``."""
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
