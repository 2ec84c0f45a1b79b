"""One frozen :class:`Settings` object, and every ``OTEL_INTERNAL_EVENTS_*`` variable.

Precedence: an explicit argument to :func:`otel_internal_events.configure`, then the
environment variable, then the default. An unknown setting, or an unknown
``OTEL_INTERNAL_EVENTS_*`` variable (a typo), is a :class:`ConfigurationError`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "ENV_PREFIX",
    "Settings",
    "settings_from_env",
    "strict_from_env",
]

ENV_PREFIX = "OTEL_INTERNAL_EVENTS_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected one of {sorted(_TRUE | _FALSE - {''})}")


def _paths(value: str) -> tuple[str, ...]:
    return tuple(part for part in value.split(os.pathsep) if part)


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(_INTEGER_RULES[_positive])
    return number


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(_INTEGER_RULES[_non_negative])
    return number


_INTEGER_RULES = {_positive: "must be a positive integer", _non_negative: "must be zero or a positive integer"}


def _env(name: str, parse: Callable[[str], Any], doc: str) -> Any:
    return {"env": ENV_PREFIX + name, "parse": parse, "doc": doc}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything that can be configured. Build one with :meth:`from_env` or ``configure()``."""

    definitions: tuple[str, ...] = field(
        default=("definitions",),
        metadata=_env("DEFINITIONS", _paths, "Definition folders, os.pathsep-separated."),
    )
    strict: bool = field(
        default=False,
        metadata=_env("STRICT", _bool, "Raise typed errors on bad tracking calls (tests, development)."),
    )
    redis_url: str | None = field(
        default=None,
        metadata=_env("REDIS_URL", str, "Redis server for counters; falls back to REDIS_URL; none: embedded server."),
    )
    key_prefix: str = field(
        default="",
        metadata=_env("KEY_PREFIX", str, "Prefix of every Redis key, so that apps can share a server."),
    )
    exporters: tuple[str, ...] = field(
        default=("redis",),
        metadata=_env("EXPORTERS", _names, "Comma-separated: redis, otlp, snowplow, jsonl, or none."),
    )
    otlp_endpoint: str | None = field(
        default=None,
        metadata=_env("OTLP_ENDPOINT", str, "OTLP/HTTP logs endpoint for the otlp exporter."),
    )
    jsonl_path: str = field(
        default="-",
        metadata=_env("JSONL_PATH", str, "Where the jsonl exporter appends one JSON line per event; -: stdout."),
    )
    max_queue_size: int = field(
        default=131_072,
        metadata=_env("MAX_QUEUE_SIZE", _positive, "Records held for export before new ones are dropped."),
    )
    max_export_batch_size: int = field(
        default=4096,
        metadata=_env("MAX_EXPORT_BATCH_SIZE", _positive, "Records per export (one Redis round trip)."),
    )
    schedule_delay_millis: int = field(
        default=200,
        metadata=_env("SCHEDULE_DELAY_MILLIS", _positive, "Longest wait before a partial batch is exported."),
    )
    export_timeout_millis: int = field(
        default=10_000,
        metadata=_env("EXPORT_TIMEOUT_MILLIS", _positive, "Time limit of one export attempt."),
    )
    dedup_window_seconds: int = field(
        default=600,
        metadata=_env(
            "DEDUP_WINDOW_SECONDS",
            _non_negative,
            "How long Redis remembers a batch applied, so that one sent again is not counted twice (0: never).",
        ),
    )
    retry_timeout_millis: int = field(
        default=30_000,
        metadata=_env("RETRY_TIMEOUT_MILLIS", _positive, "How long a failing export is retried."),
    )
    snowplow_endpoint: str | None = field(
        default=None,
        metadata=_env(
            "SNOWPLOW_ENDPOINT",
            str,
            "Snowplow collector URL (a bare host means https://host); when set, events also go to Snowplow.",
        ),
    )
    snowplow_app_id: str = field(
        default="otel-internal-events",
        metadata=_env("SNOWPLOW_APP_ID", str, "Snowplow app_id (aid) of the events."),
    )
    snowplow_namespace: str = field(
        default="gl",
        metadata=_env("SNOWPLOW_NAMESPACE", str, "Snowplow tracker namespace (tna); GitLab's is gl."),
    )
    snowplow_environment: str = field(
        default="production",
        metadata=_env("SNOWPLOW_ENVIRONMENT", str, "The environment field of the standard context."),
    )
    snowplow_standard_schema: str = field(
        default="iglu:com.gitlab/gitlab_standard/jsonschema/1-1-7",
        metadata=_env("SNOWPLOW_STANDARD_SCHEMA", str, "Iglu schema URI of the standard context."),
    )
    snowplow_batch_size: int = field(
        # ~1.4 KB an event: 200 is ~290 KB a request, under collectors' usual 1 MB limit (a 413
        # splits the batch); fewer, larger requests halve the export thread's CPU per event.
        default=200,
        metadata=_env("SNOWPLOW_BATCH_SIZE", _positive, "Events per request to the Snowplow collector."),
    )
    snowplow_processes: int = field(
        # One process builds and sends some 20,000 events a second, two some 35,000 (2 cores).
        default=2,
        metadata=_env(
            "SNOWPLOW_PROCESSES",
            _positive,
            "Export processes that share each large batch of Snowplow events (each at a lower priority).",
        ),
    )
    snowplow_encode_base64: bool = field(
        default=True,
        metadata=_env("SNOWPLOW_ENCODE_BASE64", _bool, "Send contexts base64-encoded (cx) rather than as JSON (co)."),
    )
    pseudonymization_secret: str | None = field(
        default=None,
        repr=False,
        metadata=_env(
            "PSEUDONYMIZATION_SECRET",
            str,
            "Key of the HMAC-SHA256 that pseudonymises user ids sent to Snowplow; none: user ids are left out.",
        ),
    )
    api_tokens_file: str = field(
        default="api-tokens",
        metadata=_env(
            "API_TOKENS_FILE", str, "Gateway: the file of the events API's token hashes (token new writes it)."
        ),
    )
    browser_secret: str | None = field(
        default=None,
        repr=False,
        metadata=_env(
            "BROWSER_SECRET",
            str,
            "Key of the HMAC that signs browser page tokens (the application renders them, the gateway "
            "checks them); none: the events API takes no page tokens.",
        ),
    )
    api_cors_origins: tuple[str, ...] = field(
        default=(),
        metadata=_env(
            "API_CORS_ORIGINS",
            _names,
            "Gateway: origins (comma-separated) whose pages may post to the events API from another origin.",
        ),
    )
    api_rate_limit: int = field(
        default=1200,
        metadata=_env("API_RATE_LIMIT", _non_negative, "Gateway: events per minute per API token (0: no limit)."),
    )
    api_max_body_bytes: int = field(
        default=1 << 20,
        metadata=_env("API_MAX_BODY_BYTES", _positive, "Gateway: largest events API request body; else 413."),
    )
    otlp_max_body_bytes: int = field(
        default=20 << 20,
        metadata=_env("OTLP_MAX_BODY_BYTES", _positive, "Gateway: largest OTLP body, also once inflated; else 413."),
    )
    gateway_max_pending: int = field(
        default=64,
        metadata=_env(
            "GATEWAY_MAX_PENDING", _positive, "Gateway: requests in progress or waiting; beyond, 503 with Retry-After."
        ),
    )
    clock: Callable[[], int] = field(
        default=time.time_ns,
        compare=False,
        metadata={"doc": "Returns the current time in ns since the epoch; settable for tests and demos."},
    )

    @property
    def sends_to_snowplow(self) -> bool:
        """Whether events go to Snowplow: a collector endpoint is set, and exporters are not ``none``."""
        return bool(self.snowplow_endpoint) and "none" not in self.exporters

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``overrides``, then the environment, then the defaults."""
        return settings_from_env(environ, **overrides)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (unknown names are errors)."""
        _check_names(changes)
        return dataclasses.replace(self, **changes)


def _check_names(names: Mapping[str, Any]) -> None:
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(names) - known)
    if unknown:
        raise ConfigurationError(f"unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")


def settings_from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings`; see the module docstring for the precedence."""
    environ = os.environ if environ is None else environ
    _check_names(overrides)
    by_env = {f.metadata["env"]: f for f in fields(Settings) if "env" in f.metadata}
    unknown = sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in by_env)
    if unknown:
        raise ConfigurationError(
            f"unknown environment variable(s): {', '.join(unknown)} (known: {', '.join(sorted(by_env))})"
        )
    values: dict[str, Any] = {}
    for env, spec in by_env.items():
        if spec.name in overrides or env not in environ:
            continue
        try:
            values[spec.name] = spec.metadata["parse"](environ[env])
        except ValueError as exc:
            raise ConfigurationError(f"{env}={environ[env]!r}: {exc}") from None
    if "redis_url" not in values and "redis_url" not in overrides and environ.get("REDIS_URL"):
        values["redis_url"] = environ["REDIS_URL"]
    specs = {f.name: f for f in fields(Settings)}
    for name, value in overrides.items():
        values[name] = _checked(specs[name], value)
    return Settings(**values)


def _checked(spec: Any, value: Any) -> Any:
    """An explicit setting, held to the rules its environment variable is held to."""
    parse = spec.metadata.get("parse")
    if parse is None or value is None:
        return value
    try:
        if parse is _paths:
            if isinstance(value, str | os.PathLike):
                return (os.fspath(value),)
            return tuple(os.fspath(p) for p in value)
        if isinstance(value, str):
            return parse(value)  # as if read from the environment: "redis,otlp", "1", "500"
        if parse is _names:
            names = tuple(value)
            if not all(isinstance(n, str) for n in names):
                raise ValueError("expected names (strings)")
            return names
        if parse is _bool:
            if not isinstance(value, bool):
                raise ValueError("expected True or False")
            return value
        if parse is _positive or parse is _non_negative:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(_INTEGER_RULES[parse])
            return parse(str(value))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{spec.name}={value!r}: {exc}") from None
    return value


def strict_from_env() -> bool:
    """Strict mode as the environment asks it, read from its one variable.

    Not from the whole environment: a problem elsewhere (say a misspelt variable) must not
    turn production mode into raising into the host. An unreadable value means production.
    """
    value = os.environ.get(ENV_PREFIX + "STRICT")
    if value is None:
        return Settings().strict
    try:
        return _bool(value)
    except ValueError:
        return False
