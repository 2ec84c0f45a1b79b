"""Snowplow is off unless a collector endpoint is configured; its settings and their checks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

import otel_internal_events as oie
from otel_internal_events.sinks import collector_url


def test_snowplow_is_off_without_an_endpoint(configure: Callable[..., Any]) -> None:
    runtime = configure()

    assert set(runtime.processors) == {"redis"}
    assert runtime.snowplow_exporter is None


def test_an_endpoint_adds_the_snowplow_exporter_next_to_redis(configure: Callable[..., Any]) -> None:
    runtime = configure(snowplow_endpoint="http://127.0.0.1:9")

    assert set(runtime.processors) == {"redis", "snowplow"}
    assert runtime.snowplow_exporter is not None
    assert runtime.snowplow_exporter.url == "http://127.0.0.1:9/com.snowplowanalytics.snowplow/tp2"


def test_exporters_none_turns_snowplow_off_too(configure: Callable[..., Any]) -> None:
    runtime = configure(snowplow_endpoint="http://127.0.0.1:9", exporters=("none",))

    assert runtime.processors == {}


def test_asking_for_the_snowplow_exporter_without_an_endpoint_is_an_error(configure: Callable[..., Any]) -> None:
    with pytest.raises(oie.ConfigurationError, match="SNOWPLOW_ENDPOINT"):
        configure(exporters=("redis", "snowplow"))


def test_a_malformed_standard_schema_uri_is_an_error(configure: Callable[..., Any]) -> None:
    with pytest.raises(oie.ConfigurationError, match="snowplow_standard_schema"):
        configure(snowplow_endpoint="http://127.0.0.1:9", snowplow_standard_schema="gitlab_standard")


def test_settings_come_from_the_environment() -> None:
    settings = oie.Settings.from_env(
        {
            "OTEL_INTERNAL_EVENTS_SNOWPLOW_ENDPOINT": "http://localhost:9090",
            "OTEL_INTERNAL_EVENTS_PSEUDONYMIZATION_SECRET": "s3cret",
            "OTEL_INTERNAL_EVENTS_SNOWPLOW_BATCH_SIZE": "25",
            "OTEL_INTERNAL_EVENTS_SNOWPLOW_ENCODE_BASE64": "false",
            "OTEL_INTERNAL_EVENTS_SNOWPLOW_APP_ID": "shop",
            "OTEL_INTERNAL_EVENTS_SNOWPLOW_ENVIRONMENT": "staging",
            "OTEL_INTERNAL_EVENTS_SNOWPLOW_STANDARD_SCHEMA": "iglu:com.example/std/jsonschema/1-0-0",
        }
    )

    assert settings.snowplow_endpoint == "http://localhost:9090"
    assert settings.pseudonymization_secret == "s3cret"
    assert settings.snowplow_batch_size == 25
    assert settings.snowplow_encode_base64 is False
    assert settings.snowplow_app_id == "shop"
    assert settings.snowplow_environment == "staging"
    assert settings.snowplow_standard_schema == "iglu:com.example/std/jsonschema/1-0-0"


def test_defaults_are_gitlab_compatible() -> None:
    settings = oie.Settings()

    assert settings.snowplow_endpoint is None
    assert settings.snowplow_standard_schema == "iglu:com.gitlab/gitlab_standard/jsonschema/1-1-7"
    assert settings.snowplow_namespace == "gl"


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://localhost:9090", "http://localhost:9090/com.snowplowanalytics.snowplow/tp2"),
        ("http://localhost:9090/", "http://localhost:9090/com.snowplowanalytics.snowplow/tp2"),
        ("collector.example.com", "https://collector.example.com/com.snowplowanalytics.snowplow/tp2"),
        (
            "https://c.example.com/com.snowplowanalytics.snowplow/tp2",
            "https://c.example.com/com.snowplowanalytics.snowplow/tp2",
        ),
    ],
)
def test_collector_url_accepts_a_host_a_base_url_or_the_full_url(endpoint: str, url: str) -> None:
    assert collector_url(endpoint) == url


@pytest.mark.parametrize("endpoint", ["", "ftp://collector.example.com"])
def test_collector_url_refuses_what_is_not_http(endpoint: str) -> None:
    with pytest.raises(oie.ConfigurationError):
        collector_url(endpoint)


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip()


def test_loading_the_tracker_leaves_the_hosts_logging_alone() -> None:
    code = (
        "import logging\n"
        "from otel_internal_events.sinks import load_snowplow_tracker\n"
        "load_snowplow_tracker()\n"
        "levels = [logging.getLogger(n).level for n in ('snowplow_tracker.emitters', 'snowplow_tracker.snowplow')]\n"
        "print(len(logging.getLogger().handlers), levels)\n"
    )

    assert run_python(code) == "0 [0, 0]"


def test_loading_the_tracker_keeps_the_hosts_own_handlers() -> None:
    code = (
        "import logging\n"
        "logging.basicConfig(format='host %(message)s')\n"
        "handler = logging.getLogger().handlers[0]\n"
        "from otel_internal_events.sinks import load_snowplow_tracker\n"
        "load_snowplow_tracker()\n"
        "print(logging.getLogger().handlers == [handler])\n"
    )

    assert run_python(code) == "True"


def test_a_missing_tracker_names_the_extra_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['snowplow_tracker'] = None\n"
        "from otel_internal_events.errors import MissingExtraError\n"
        "from otel_internal_events.sinks import load_snowplow_tracker\n"
        "try:\n"
        "    load_snowplow_tracker()\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
    )

    assert "otel-internal-events[snowplow]" in run_python(code)
