"""The public API: GitLab's entry points, configuration from the environment, its errors."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

import otel_internal_events as oie
from otel_internal_events.conventions import CATEGORY, SEND_SNOWPLOW
from otel_internal_events.errors import ConfigurationError, UnknownEventError

DEFINITIONS = Path(__file__).resolve().parents[1] / "definitions"
EVENT = "download_repository_archive"


class ArchiveService(oie.InternalEventsTracking):
    def download(self) -> None:
        self.track_internal_event(EVENT, send_snowplow_event=True)


def _attributes(runtime: oie.Runtime, track: Any) -> dict[str, Any]:
    exporter = InMemoryLogRecordExporter()
    runtime.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    track()
    (record,) = exporter.get_finished_logs()
    return dict(record.log_record.attributes)


def test_the_mixin_sets_category_to_the_class_name(configure: Any) -> None:
    attributes = _attributes(configure(exporters=("none",)), ArchiveService().download)
    assert attributes[CATEGORY] == "ArchiveService"


def test_track_event_passes_the_category_through(configure: Any) -> None:
    attributes = _attributes(
        configure(exporters=("none",)), lambda: oie.InternalEvents.track_event(EVENT, category="Billing")
    )
    assert attributes[CATEGORY] == "Billing"


def test_track_event_without_category_sets_none(configure: Any) -> None:
    attributes = _attributes(configure(exporters=("none",)), lambda: oie.InternalEvents.track_event(EVENT))
    assert CATEGORY not in attributes


def test_send_snowplow_event_false_sets_the_attribute_false(configure: Any) -> None:
    attributes = _attributes(
        configure(exporters=("none",)), lambda: oie.track_internal_event(EVENT, send_snowplow_event=False)
    )
    assert attributes[SEND_SNOWPLOW] is False


def test_send_snowplow_by_default_leaves_the_attribute_out(configure: Any) -> None:
    attributes = _attributes(configure(exporters=("none",)), lambda: oie.track_internal_event(EVENT))
    assert SEND_SNOWPLOW not in attributes


# Configuration from the environment


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No OTEL_INTERNAL_EVENTS_* nor REDIS_URL variables, no current pipeline before and after."""
    import os

    for name in list(os.environ):
        if name.startswith("OTEL_INTERNAL_EVENTS_") or name == "REDIS_URL":
            monkeypatch.delenv(name)
    oie.shutdown()
    yield monkeypatch
    oie.shutdown()


@pytest.fixture
def env(clean_env: pytest.MonkeyPatch, redis_url: str, key_prefix: str) -> pytest.MonkeyPatch:
    clean_env.setenv("OTEL_INTERNAL_EVENTS_DEFINITIONS", str(DEFINITIONS))
    clean_env.setenv("OTEL_INTERNAL_EVENTS_REDIS_URL", redis_url)
    clean_env.setenv("OTEL_INTERNAL_EVENTS_KEY_PREFIX", key_prefix)
    clean_env.setenv("OTEL_INTERNAL_EVENTS_SCHEDULE_DELAY_MILLIS", "20")
    return clean_env


def test_the_first_track_configures_from_the_environment(
    env: pytest.MonkeyPatch, redis_client: Any, key_prefix: str
) -> None:
    assert oie.configured() is None
    oie.track_internal_event(EVENT)
    assert oie.flush()
    assert redis_client.get(f"{key_prefix}{{event_counters}}_{EVENT}") == b"1"
    settings = oie.configured().settings  # type: ignore[union-attr]
    assert (settings.key_prefix, settings.strict) == (key_prefix, False)


def test_strict_from_the_environment_raises(env: pytest.MonkeyPatch) -> None:
    env.setenv("OTEL_INTERNAL_EVENTS_STRICT", "1")
    with pytest.raises(UnknownEventError, match="event 'no_such_event': unknown event"):
        oie.track_internal_event("no_such_event")


def test_production_mode_from_the_environment_does_not_raise(
    env: pytest.MonkeyPatch, redis_client: Any, key_prefix: str
) -> None:
    env.setenv("OTEL_INTERNAL_EVENTS_STRICT", "0")
    oie.track_internal_event("no_such_event")
    oie.track_internal_event(EVENT, additional_properties={"undeclared": 1})
    assert oie.flush()
    assert redis_client.get(f"{key_prefix}{{event_counters}}_{EVENT}") == b"1"


def test_redis_url_falls_back_to_the_redis_url_variable() -> None:
    assert oie.Settings.from_env({"REDIS_URL": "redis://db:6379/2"}).redis_url == "redis://db:6379/2"


def test_our_redis_url_variable_wins_over_redis_url() -> None:
    environ = {"REDIS_URL": "redis://db:6379/2", "OTEL_INTERNAL_EVENTS_REDIS_URL": "redis://ours:6379/0"}
    assert oie.Settings.from_env(environ).redis_url == "redis://ours:6379/0"


def test_an_unknown_variable_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown environment variable\(s\): OTEL_INTERNAL_EVENTS_FOO"):
        oie.Settings.from_env({"OTEL_INTERNAL_EVENTS_FOO": "1"})


def test_configure_with_an_unknown_variable_in_the_environment_fails(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_INTERNAL_EVENTS_FOO", "1")
    with pytest.raises(ConfigurationError, match="OTEL_INTERNAL_EVENTS_FOO"):
        oie.configure()


def test_a_bad_variable_value_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="OTEL_INTERNAL_EVENTS_STRICT='maybe'"):
        oie.Settings.from_env({"OTEL_INTERNAL_EVENTS_STRICT": "maybe"})


def test_configure_with_an_unknown_setting_is_a_configuration_error(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown setting\(s\): unknown_setting"):
        oie.configure(unknown_setting=1)


def test_failed_auto_configuration_in_production_logs_once_and_tracking_is_a_no_op(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clean_env.setenv("OTEL_INTERNAL_EVENTS_DEFINITIONS", str(tmp_path / "missing"))
    with caplog.at_level(logging.ERROR, logger="otel_internal_events"):
        assert oie.track_internal_event(EVENT) is None
        assert oie.track_internal_event(EVENT) is None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith("internal events tracking is off: configuration failed: ")
    assert "definition folder not found" in errors[0]
    assert oie.configured() is None
    assert oie.flush() is False  # tracking is off: what was tracked went nowhere


def test_failed_auto_configuration_in_strict_mode_raises(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("OTEL_INTERNAL_EVENTS_DEFINITIONS", str(tmp_path / "missing"))
    clean_env.setenv("OTEL_INTERNAL_EVENTS_STRICT", "1")
    with pytest.raises(oie.DefinitionsInvalidError, match="definition folder not found"):
        oie.track_internal_event(EVENT)


def test_an_unknown_variable_in_production_does_not_raise_into_the_caller(
    clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clean_env.setenv("OTEL_INTERNAL_EVENTS_FOO", "1")
    with caplog.at_level(logging.ERROR, logger="otel_internal_events"):
        assert oie.track_internal_event(EVENT) is None
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "internal events tracking is off: configuration failed: unknown environment variable(s): "
        "OTEL_INTERNAL_EVENTS_FOO (known: " + ", ".join(sorted(f"OTEL_INTERNAL_EVENTS_{n}" for n in _ENV_NAMES)) + ")"
    ]


def test_an_unknown_variable_in_strict_mode_raises(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_INTERNAL_EVENTS_FOO", "1")
    clean_env.setenv("OTEL_INTERNAL_EVENTS_STRICT", "1")
    with pytest.raises(ConfigurationError, match="OTEL_INTERNAL_EVENTS_FOO"):
        oie.track_internal_event(EVENT)


#: Every variable Settings reads (the message lists them, so that a typo can be matched).
_ENV_NAMES = tuple(
    f.metadata["env"].removeprefix("OTEL_INTERNAL_EVENTS_")
    for f in dataclasses.fields(oie.Settings)
    if "env" in f.metadata
)


def test_a_malformed_redis_url_fails_at_configure(configure: Any) -> None:
    with pytest.raises(oie.ConfigurationError, match="redis_url 'nope://x'"):
        configure(redis_url="nope://x")


def test_host_otel_limits_and_sdk_switch_do_not_touch_internal_events(
    configure: Any, redis_client: Any, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "2")
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3")
    configure()
    oie.track_internal_event(
        "create_merge_request_comment",
        user=1,
        project=2,
        namespace=3,
        additional_properties={"label": "diff_line", "property": "web"},
    )
    assert oie.flush()
    filtered = (
        f"{key_prefix}{{event_counters}}_create_merge_request_comment-filter:[label:diff_line,property:web]-2026-48"
    )
    assert int(redis_client.get(filtered)) == 1
    assert redis_client.pfcount(f"{key_prefix}{{hll_counters}}_create_merge_request_comment-user-2026-48") == 1
    assert int(redis_client.get(f"{key_prefix}{{event_counters}}_create_merge_request_comment")) == 1


def test_a_failed_configure_leaves_no_export_thread_behind(configure: Any) -> None:
    import threading

    before = {t for t in threading.enumerate() if t.name.startswith("otel-internal-events")}
    for _ in range(3):
        with pytest.raises(ConfigurationError):
            configure(snowplow_endpoint="ftp://collector.example")
    after = {t for t in threading.enumerate() if t.name.startswith("otel-internal-events")}
    assert after == before


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("max_queue_size", 0, "max_queue_size=0: must be a positive integer"),
        ("max_export_batch_size", True, "max_export_batch_size=True: must be a positive integer"),
        ("strict", "maybe", "strict='maybe': expected one of"),
        ("strict", 1, "strict=1: expected True or False"),
        ("exporters", [1], "exporters=[1]: expected names (strings)"),
    ],
)
def test_explicit_settings_are_held_to_the_rules_of_their_variables(setting: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        oie.Settings.from_env({}, **{setting: value})
    assert str(raised.value).startswith(message)


def test_explicit_settings_given_as_text_are_parsed_like_their_variables() -> None:
    settings = oie.Settings.from_env({}, exporters="redis, otlp", strict="1", max_queue_size="500")
    assert (settings.exporters, settings.strict, settings.max_queue_size) == (("redis", "otlp"), True, 500)
