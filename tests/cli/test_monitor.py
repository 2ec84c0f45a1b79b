"""``otel-internal-events monitor`` as a developer runs it, in a real pseudo-terminal."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import otel_internal_events as oie
from otel_internal_events.cli import main

ROOT = Path(__file__).resolve().parents[2]
#: Between two cells of a row: borders, spaces and colour escapes.
_CELLS = r"(?:\W|\x1b\[[0-9;]*m)+"


def _row(*cells: str) -> str:
    return _CELLS.join(cells)


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect needs a pseudo-terminal")
def test_monitor_shows_events_tracked_by_another_process_and_quits_on_q(
    configure: Any, redis_url: str, key_prefix: str
) -> None:
    pexpect = pytest.importorskip("pexpect")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    environment |= {
        "OTEL_INTERNAL_EVENTS_REDIS_URL": redis_url,
        "OTEL_INTERNAL_EVENTS_KEY_PREFIX": key_prefix,
        "OTEL_INTERNAL_EVENTS_DEFINITIONS": str(ROOT / "definitions"),
    }
    command = str(Path(sys.executable).with_name("otel-internal-events"))
    child = pexpect.spawn(
        command,
        ["monitor", "create_merge_request", "--interval", "0.2"],
        env=environment,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    try:
        child.expect(_row("create_merge_request", "0", r"\+0"))
        configure()
        for user in (1, 2, 3):
            oie.track_internal_event("create_merge_request", user=user, project=5, namespace=9)
        assert oie.flush()
        child.expect(_row("create_merge_request", "3", r"\+3"))
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before


def test_monitor_of_an_unknown_event_exits_1_naming_it(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_INTERNAL_EVENTS_REDIS_URL", redis_url)

    result = CliRunner().invoke(main, ["monitor", "create_merge_requst", "--definitions", str(ROOT / "definitions")])

    assert result.exit_code == 1
    assert "create_merge_requst" in result.output
    assert "create_merge_request" in result.output  # the suggestion
