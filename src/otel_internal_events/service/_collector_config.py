"""OpenTelemetry Collector configurations that carry events to the gateway, built from the definitions.

Two variants, both plain dicts ready for :func:`render_collector_config`:

- :func:`otlp_collector_config`: applications export OTLP to this Collector, which keeps only
  defined events, removes every attribute their definition does not declare, and forwards them
  to the gateway over OTLP/HTTP.
- :func:`filelog_collector_config`: teams that write events as JSON lines (stdout captured to a
  file, or a file of their own) let the ``filelog`` receiver parse, filter and redact them with
  stanza operators only, then forward them the same way.

The definition-specific parts (the event names, the attributes kept per event) are what makes
hand-written configs go stale; everything here is derived from a :class:`DefinitionRegistry`.
The OTTL and stanza syntax targets Collector 0.135 (otelcol-contrib).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import yaml

from ..conventions import (
    CATEGORY,
    EVENT_NAME,
    FEATURE_ENABLED_BY_NAMESPACE_IDS,
    NAMESPACE_ID,
    PROJECT_ID,
    PROPERTY_PREFIX,
    SEND_SNOWPLOW,
    USER_ID,
)
from ..definitions import DefinitionRegistry, EventDefinition
from ..exporters import JSON_LINE_TIME

__all__ = [
    "DEFAULT_FILELOG_INCLUDE",
    "DEFAULT_GATEWAY_ENDPOINT",
    "CollectorVariant",
    "allowed_attributes",
    "filelog_collector_config",
    "otlp_collector_config",
    "render_collector_config",
]

#: Where the gateway (``otel-internal-events serve``) listens by default.
DEFAULT_GATEWAY_ENDPOINT: Final = "http://127.0.0.1:4318"
#: Files the filelog variant reads unless told otherwise.
DEFAULT_FILELOG_INCLUDE: Final = ("/var/log/internal-events/*.jsonl",)

CollectorVariant = Literal["otlp", "filelog"]
OtlpEncoding = Literal["proto", "json"]
StartAt = Literal["beginning", "end"]

#: Attributes any event may carry (what the recorder writes besides the properties).
_BASE_ATTRIBUTES: Final = (
    EVENT_NAME,
    USER_ID,
    PROJECT_ID,
    NAMESPACE_ID,
    CATEGORY,
    FEATURE_ENABLED_BY_NAMESPACE_IDS,
    SEND_SNOWPLOW,
)
# One batch becomes one Redis round trip at the gateway: the same size and delay as the
# in-process exporter (MAX_EXPORT_BATCH_SIZE, SCHEDULE_DELAY_MILLIS).
_BATCH: Final = {"send_batch_size": 4096, "send_batch_max_size": 4096, "timeout": "200ms"}
_MEMORY_LIMITER: Final = {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25}
_RFC3339_GOTIME: Final = "2006-01-02T15:04:05.999999999Z07:00"
_REDACTED_ID: Final = "redacted"
# What the JSON Schemas allow for event and property names; nothing in them needs quoting in
# OTTL strings, regular expressions or stanza expressions. Checked again, as a guard.
_SAFE_NAME: Final = re.compile(r"[a-z0-9_]+")


def allowed_attributes(event: EventDefinition) -> tuple[str, ...]:
    """The attributes a record of ``event`` may keep: the base ones, then its declared properties."""
    properties = sorted(event.additional_properties)
    _check_names(properties, f"additional property of event {event.action!r}")
    return _BASE_ATTRIBUTES + tuple(PROPERTY_PREFIX + name for name in properties)


def otlp_collector_config(
    registry: DefinitionRegistry,
    *,
    gateway: str = DEFAULT_GATEWAY_ENDPOINT,
    encoding: OtlpEncoding = "proto",
) -> dict[str, Any]:
    """A Collector that receives OTLP from applications and forwards defined events to ``gateway``.

    Needs otelcol-contrib (the ``filter`` and ``transform`` processors).
    """
    events = _event_names(registry)
    pattern = "^(?:" + "|".join(events) + ")$"
    # The record's event is its event_name; senders that cannot set it put the name in the
    # attribute instead. Both conditions use unprefixed paths: in 0.135 the filter processor's
    # logs.log_record conditions are parsed without OTTL path-context names (``log.`` prefixes
    # arrive with its log_conditions option in 0.146). IsMatch never errors (nil is no match,
    # other types are compared as text), and propagate makes any error drop rather than leak.
    filter_conditions = [
        f'event_name != "" and not IsMatch(event_name, "{pattern}")',
        f'event_name == "" and not IsMatch(attributes["{EVENT_NAME}"], "{pattern}")',
    ]
    # keep_keys per event: the transform processor (0.120+ syntax, context inferred from the
    # ``log.`` paths) can keep a different list for each event, which the redaction processor
    # (one allow-list for all records) cannot. Errors propagate here too: a record that could
    # not be redacted is dropped, never sent with what it carried.
    redaction = [
        {
            "conditions": [
                f'log.event_name == "{name}"',
                f'log.event_name == "" and log.attributes["{EVENT_NAME}"] == "{name}"',
            ],
            "statements": [f"keep_keys(log.attributes, {json.dumps(list(allowed_attributes(event)))})"],
        }
        for name, event in sorted(registry.events.items())
    ]
    return {
        "receivers": {
            "otlp": {"protocols": {"grpc": {"endpoint": "0.0.0.0:4317"}, "http": {"endpoint": "0.0.0.0:4318"}}},
        },
        "processors": {
            "memory_limiter": dict(_MEMORY_LIMITER),
            "filter/defined_events": {"error_mode": "propagate", "logs": {"log_record": filter_conditions}},
            "transform/declared_attributes": {"error_mode": "propagate", "log_statements": redaction},
            "batch": dict(_BATCH),
        },
        # A full queue refuses new data with a retryable error, so applications back off and retry.
        "exporters": {"otlphttp": _otlphttp(gateway, encoding, block_on_overflow=False)},
        "service": {
            "pipelines": {
                "logs": {
                    "receivers": ["otlp"],
                    "processors": [
                        "memory_limiter",
                        "filter/defined_events",
                        "transform/declared_attributes",
                        "batch",
                    ],
                    "exporters": ["otlphttp"],
                }
            }
        },
    }


def filelog_collector_config(
    registry: DefinitionRegistry,
    *,
    gateway: str = DEFAULT_GATEWAY_ENDPOINT,
    include: Sequence[str] = DEFAULT_FILELOG_INCLUDE,
    start_at: StartAt = "end",
    encoding: OtlpEncoding = "proto",
) -> dict[str, Any]:
    """A Collector that reads events as JSON lines from ``include`` and forwards them to ``gateway``.

    One flat JSON object per line: the wire attribute names as keys, plus ``time`` (RFC 3339).
    Uses only the filelog receiver (and its stanza operators), memory_limiter, batch and otlphttp.
    """
    if not include:
        raise ValueError("the filelog variant needs at least one include glob")
    if start_at not in ("beginning", "end"):
        raise ValueError(f"start_at must be 'beginning' or 'end', not {start_at!r}")
    events = _event_names(registry)
    event = f'attributes["{EVENT_NAME}"]'
    operators: list[dict[str, Any]] = [
        # Numbers stay ints when whole (ids are int64 on the wire, as the SDK sends them); lines
        # that are not JSON (ordinary log output on the same stream) are dropped at debug level.
        {"type": "json_parser", "id": "parse_json_line", "parse_ints": True, "on_error": "drop_quiet"},
        {"type": "filter", "id": "drop_undefined_events", "expr": f"{event} not in {json.dumps(list(events))}"},
        # After the filter, so only event lines get here: a missing or malformed time is a real
        # mistake and is dropped with an error in the Collector's log.
        {
            "type": "time_parser",
            "id": "event_time",
            "parse_from": f"attributes.{JSON_LINE_TIME}",
            "layout_type": "gotime",
            "layout": _RFC3339_GOTIME,
            "on_error": "drop",
        },
        {"type": "remove", "id": "drop_time_attribute", "field": f"attributes.{JSON_LINE_TIME}"},
        # The body still holds the raw line, undeclared keys included.
        {"type": "remove", "id": "drop_raw_line", "field": "body"},
        {
            "type": "router",
            "id": "route_by_event",
            "routes": [{"expr": f'{event} == "{name}"', "output": _retain_id(name)} for name in events],
        },
    ]
    operators += [
        {
            "type": "retain",
            "id": _retain_id(name),
            "fields": [f'attributes["{attribute}"]' for attribute in allowed_attributes(registry.events[name])],
            "output": _REDACTED_ID,
        }
        for name in events
    ]
    operators.append({"type": "noop", "id": _REDACTED_ID})
    receiver = {
        "include": list(include),
        "start_at": start_at,
        "include_file_name": False,
        # A refusal by memory_limiter pauses reading instead of dropping what was read.
        "retry_on_failure": {
            "enabled": True,
            "initial_interval": "1s",
            "max_interval": "30s",
            "max_elapsed_time": "0s",
        },
        "operators": operators,
    }
    return {
        "receivers": {"filelog": receiver},
        "processors": {"memory_limiter": dict(_MEMORY_LIMITER), "batch": dict(_BATCH)},
        # A full queue blocks the reader: the file is the buffer, nothing read is dropped.
        "exporters": {"otlphttp": _otlphttp(gateway, encoding, block_on_overflow=True)},
        "service": {
            "pipelines": {
                "logs": {
                    "receivers": ["filelog"],
                    "processors": ["memory_limiter", "batch"],
                    "exporters": ["otlphttp"],
                }
            }
        },
    }


def render_collector_config(config: dict[str, Any], *, variant: CollectorVariant, sources: Sequence[str]) -> str:
    """``config`` as YAML (keys in build order) under a header naming the definitions it came from."""
    header = (
        f"# Generated by `otel-internal-events collector-config --variant {variant}` from the definitions in:\n"
        f"#   {', '.join(sources)}\n"
        "# Do not edit by hand: change the definitions and regenerate (see collector-config/README.md).\n"
    )
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=False, width=2**31 - 1, allow_unicode=True)
    return header + body


def _otlphttp(gateway: str, encoding: OtlpEncoding, *, block_on_overflow: bool) -> dict[str, Any]:
    if encoding not in ("proto", "json"):
        raise ValueError(f"encoding must be 'proto' or 'json', not {encoding!r}")
    url = urlsplit(gateway)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(f"the gateway endpoint must be an http(s) URL, not {gateway!r}")
    base = gateway.rstrip("/")
    # A URL already ending in the logs path is used as is; otherwise the exporter appends /v1/logs.
    endpoint = {"logs_endpoint": base} if base.endswith("/v1/logs") else {"endpoint": base}
    return {
        **endpoint,
        "encoding": encoding,
        "timeout": "10s",
        # The gateway answers 429/503 with Retry-After when it is busy or Redis is down; otlphttp
        # waits that long. Retry for a day before giving a batch up.
        "retry_on_failure": {
            "enabled": True,
            "initial_interval": "1s",
            "max_interval": "60s",
            "max_elapsed_time": "24h",
        },
        "sending_queue": {
            "enabled": True,
            "num_consumers": 4,
            "sizer": "items",
            "queue_size": 200_000,
            "block_on_overflow": block_on_overflow,
        },
    }


def _event_names(registry: DefinitionRegistry) -> list[str]:
    names = sorted(registry.events)
    if not names:
        raise ValueError("the definitions declare no events: the Collector would drop everything")
    _check_names(names, "event name")
    return names


def _check_names(names: Sequence[str], what: str) -> None:
    for name in names:
        if not _SAFE_NAME.fullmatch(name):
            raise ValueError(f"{what} {name!r} is not [a-z0-9_]+")


def _retain_id(event: str) -> str:
    return f"keep_{event}"
