"""Services built on the package: the gateway and the Snowplow micro collector.

The gateway (``otel-internal-events serve``) receives OTLP/HTTP from the OpenTelemetry
Collector and events from GitLab's events API, checks them against the definitions and writes
the same Redis counters and Snowplow events as the in-process exporters. Its core
(:class:`Gateway`) is framework-free; :func:`create_app` is the ASGI app (the ``service`` extra).

The micro collector core (:class:`MicroCollector`, :class:`IgluRegistry`) is framework-free; the
stdlib HTTP front is :class:`SnowplowMicroServer`::

    with SnowplowMicroServer(port=0) as micro:
        configure(snowplow_endpoint=micro.url)
        ...
        micro.collector.counts()  # {"total": ..., "good": ..., "bad": ...}
"""

from typing import TYPE_CHECKING

from ._collector_config import (
    DEFAULT_FILELOG_INCLUDE,
    DEFAULT_GATEWAY_ENDPOINT,
    CollectorVariant,
    allowed_attributes,
    filelog_collector_config,
    otlp_collector_config,
    render_collector_config,
)
from ._gateway import ApiEvent, Gateway, GatewayUnavailable, Outcome
from ._iglu_registry import IgluRegistry
from ._micro_collector import MicroCollector, MicroResponse
from ._micro_http import SnowplowMicroServer
from ._otlp import OtlpDecodeError, WireRecord, decode_logs, decode_spans
from ._tokens import TokenEntry, TokenStore, new_token, read_tokens

if TYPE_CHECKING:
    from ._app import app_from_environment, create_app

__all__ = [
    "DEFAULT_FILELOG_INCLUDE",
    "DEFAULT_GATEWAY_ENDPOINT",
    "ApiEvent",
    "CollectorVariant",
    "Gateway",
    "GatewayUnavailable",
    "IgluRegistry",
    "MicroCollector",
    "MicroResponse",
    "OtlpDecodeError",
    "Outcome",
    "SnowplowMicroServer",
    "TokenEntry",
    "TokenStore",
    "WireRecord",
    "allowed_attributes",
    "app_from_environment",
    "create_app",
    "decode_logs",
    "decode_spans",
    "filelog_collector_config",
    "new_token",
    "otlp_collector_config",
    "read_tokens",
    "render_collector_config",
]


def __getattr__(name: str) -> object:
    # The app needs the web framework (the ``service`` extra): imported only when asked for.
    if name in ("create_app", "app_from_environment"):
        from . import _app

        return getattr(_app, name)
    raise AttributeError(name)
