"""``demo --snowplow``: the demo's events also reach a local micro collector, all of them good."""

from __future__ import annotations

import datetime as dt
import re

from click.testing import CliRunner
from rich.console import Console

from otel_internal_events import _pipeline
from otel_internal_events.cli import main
from otel_internal_events.cli._demo import run_demo

from ._helpers import Micro


def test_the_demo_stream_reaches_the_collector_whole_and_valid(
    snowplow_micro: Micro, redis_url: str, key_prefix: str
) -> None:
    try:
        _report, runtime, stream = run_demo(
            events=1_000,
            users=50,
            projects=5,
            weeks=2,
            seed=3,
            redis_url=redis_url,
            key_prefix=key_prefix,
            today=dt.date(2026, 11, 26),
            console=Console(quiet=True),
            progress=False,
            snowplow_endpoint=snowplow_micro.url,
        )
        assert runtime.flush(10_000)
    finally:
        _pipeline.shutdown()

    assert snowplow_micro.all() == {"total": len(stream), "good": len(stream), "bad": 0}


def test_the_demo_command_reports_the_collectors_counts(redis_url: str) -> None:
    result = CliRunner().invoke(
        main, ["demo", "--snowplow", "--events", "300", "--weeks", "1", "--redis-url", redis_url]
    )

    assert result.exit_code == 0, result.output
    found = re.search(r"received\s+([\d,]+)\s+good\s+and\s+([\d,]+)\s+bad\s+events", result.output)
    assert found is not None, result.output
    assert found.groups() == ("300", "0")


def test_the_default_demo_does_not_use_snowplow(redis_url: str) -> None:
    result = CliRunner().invoke(main, ["demo", "--events", "100", "--weeks", "1", "--redis-url", redis_url])

    assert result.exit_code == 0, result.output
    assert "snowplow" not in result.output.lower()
