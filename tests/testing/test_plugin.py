"""The pytest plugin: found through its entry point, isolating each test, lazy, resetting globals."""

from __future__ import annotations

import socket
import sys
import textwrap

import pytest
import redis

from .conftest import InnerProject, assert_fails_with, write_definitions

TOTAL = "counts.count_total_open_web_ide"


def test_the_entry_point_loads_the_plugin_which_starts_an_embedded_server_without_a_url(
    pytester: pytest.Pytester, clean_environment: pytest.MonkeyPatch
) -> None:
    project = InnerProject(pytester)
    result = project.run_subprocess(
        f"""
        from app import open_web_ide
        from otel_internal_events.testing import increment_usage_metrics, trigger_internal_events

        def test_it(internal_events):
            assert internal_events.runtime.settings.redis_url is None
            with trigger_internal_events("open_web_ide") & increment_usage_metrics("{TOTAL}"):
                open_web_ide()
        """
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins:*otel-internal-events-*"])


def test_tests_that_use_no_matcher_configure_nothing(project: InnerProject, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as gate:
        # The only Redis server the inner run may use: it lets connections in and never answers.
        monkeypatch.setenv("OTEL_INTERNAL_EVENTS_REDIS_URL", f"redis://127.0.0.1:{gate.getsockname()[1]}")
        result = project.run(
            """
            import otel_internal_events as oie

            def test_plain():
                assert True

            def test_nothing_was_configured():
                assert oie.configured() is None
                assert oie.disabled_reason() is None
            """
        )
        result.assert_outcomes(passed=2)
        # The run is over, and with nothing configured no thread is left to connect later: a
        # connection opened during the run has completed its handshake and waits to be accepted.
        gate.setblocking(False)
        with pytest.raises(BlockingIOError):
            gate.accept()


def test_each_test_has_clean_counters_under_its_own_prefix(project: InnerProject, redis_client: redis.Redis) -> None:
    result = project.run(
        f"""
        from app import open_web_ide
        from otel_internal_events.testing import increment_usage_metrics

        prefixes = []

        def test_first(internal_events):
            prefixes.append(internal_events.runtime.settings.key_prefix)
            with increment_usage_metrics("{TOTAL}").from_(0).to(2):
                open_web_ide(); open_web_ide()

        def test_second(internal_events):
            prefixes.append(internal_events.runtime.settings.key_prefix)
            assert internal_events.metric_value("{TOTAL}") == 0
            assert prefixes[0] != prefixes[1]
        """
    )
    result.assert_outcomes(passed=2)
    assert list(redis_client.scan_iter(match="*internal-events-test:*")) == []


def test_a_rejected_event_fails_the_test(project: InnerProject) -> None:
    result = project.run(
        """
        from otel_internal_events import track_internal_event
        from otel_internal_events.testing import trigger_internal_events

        def test_it():
            with trigger_internal_events("view_page"):
                track_internal_event("view_page", additional_properties={"label": "x"})
        """
    )
    assert_fails_with(
        result,
        "otel_internal_events.errors.InvalidPropertyError: event 'view_page': additional_properties.label: "
        "property is not declared by the event (declared: none)",
    )


def test_the_runtime_is_shut_down_after_a_test_that_used_it(project: InnerProject) -> None:
    result = project.run(
        """
        import otel_internal_events as oie
        from app import view
        from otel_internal_events.testing import trigger_internal_events

        def test_uses_a_matcher():
            with trigger_internal_events("view_page"):
                view()
            assert oie.configured() is not None

        def test_after():
            assert oie.configured() is None
        """
    )
    result.assert_outcomes(passed=2)


def test_a_runtime_the_test_body_configured_is_shut_down_after_it(project: InnerProject) -> None:
    result = project.run(
        """
        import otel_internal_events as oie

        def test_configures():
            oie.configure(definitions="defs", exporters=("none",))

        def test_after():
            assert oie.configured() is None
        """
    )
    result.assert_outcomes(passed=2)


def test_a_failed_configuration_from_the_environment_is_forgotten_after_the_test(project: InnerProject) -> None:
    result = project.run(
        """
        import otel_internal_events as oie
        from app import view

        def test_tracks_with_no_definitions_found():
            view()  # ./definitions does not exist: tracking turns itself off
            assert oie.disabled_reason() is not None

        def test_after():
            assert oie.disabled_reason() is None
        """
    )
    result.assert_outcomes(passed=2)


def test_a_runtime_a_fixture_configured_is_used_as_is_and_left_to_it(project: InnerProject) -> None:
    result = project.run(
        """
        import pytest

        import otel_internal_events as oie
        from app import open_web_ide
        from otel_internal_events.testing import increment_usage_metrics, trigger_internal_events

        @pytest.fixture(scope="module")
        def mine():
            runtime = oie.configure(definitions="defs", key_prefix="mine:", strict=False)
            yield runtime
            oie.shutdown()

        def test_first(mine):
            with trigger_internal_events("open_web_ide") & increment_usage_metrics("counts.count_total_open_web_ide"):
                open_web_ide()
            assert oie.configured() is mine

        def test_second(mine):
            assert oie.configured() is mine
            assert mine.settings.key_prefix == "mine:" and not mine.tracker.strict
        """
    )
    result.assert_outcomes(passed=2)


def test_tracking_before_the_first_matcher_without_a_runtime_fails_loudly(project: InnerProject) -> None:
    result = project.run(
        """
        from app import open_web_ide
        from otel_internal_events.testing import trigger_internal_events

        def test_it():
            open_web_ide()
            with trigger_internal_events("open_web_ide"):
                open_web_ide()
        """
    )
    assert_fails_with(
        result,
        "RuntimeError: this test tracked internal events before its first matcher, and the runtime that "
        "configured itself from the environment for them failed, so they were lost: 1 problem in definitions:",
        "definitions: definition folder not found",
        "Request the 'internal_events' fixture to set up the test runtime before the test runs "
        "(or configure the runtime in a fixture).",
    )


DEFINITIONS_TEST = f"""
    from app import open_web_ide
    from otel_internal_events.testing import increment_usage_metrics

    def test_it():
        with increment_usage_metrics("{TOTAL}"):
            open_web_ide()
"""


def test_definitions_default_to_the_definitions_folder(
    pytester: pytest.Pytester, clean_environment: pytest.MonkeyPatch, redis_url: str
) -> None:
    clean_environment.setenv("OTEL_INTERNAL_EVENTS_REDIS_URL", redis_url)
    project = InnerProject(pytester)
    pytester.makefile(".ini", pytest="[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    (pytester.path / "defs").rename(pytester.path / "definitions")
    project.run(DEFINITIONS_TEST).assert_outcomes(passed=1)


def test_the_environment_variable_wins_over_the_ini_option(
    project: InnerProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.path / "defs").rename(project.path / "from_env")
    monkeypatch.setenv("OTEL_INTERNAL_EVENTS_DEFINITIONS", str(project.path / "from_env"))
    project.run(DEFINITIONS_TEST).assert_outcomes(passed=1)


def test_an_unknown_name_is_checked_against_the_ini_definitions(project: InnerProject) -> None:
    write_definitions(project.path / "definitions")  # the library default, not the one in use
    (project.path / "definitions" / "events" / "view_page.yml").rename(project.path / "definitions" / "x.yml")
    (project.path / "defs" / "events" / "view_page.yml").unlink()
    (project.path / "defs" / "metrics" / "count_total_view_page.yml").unlink()
    result = project.run(
        """
        from otel_internal_events.testing import trigger_internal_events

        def test_it():
            trigger_internal_events("view_page")
        """
    )
    assert_fails_with(result, "UnknownEventError: event 'view_page': unknown event")


def test_outside_pytest_the_matchers_use_the_current_runtime(pytester: pytest.Pytester, redis_url: str) -> None:
    project = InnerProject(pytester)
    script = project.path / "script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import otel_internal_events as oie
            from app import open_web_ide
            from otel_internal_events.testing import increment_usage_metrics, trigger_internal_events

            oie.configure(definitions="defs", redis_url="{redis_url}", key_prefix="script:")
            with trigger_internal_events("open_web_ide") & increment_usage_metrics("{TOTAL}"):
                open_web_ide()
            try:
                with trigger_internal_events("open_web_ide"):
                    pass
            except AssertionError as error:
                print("failed:", error)
            oie.shutdown()
            """
        )
    )
    result = pytester.run(sys.executable, str(script), timeout=60)
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(
        ["failed: expected internal event 'open_web_ide' to be tracked once, but it was not tracked"]
    )
