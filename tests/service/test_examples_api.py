"""The events API call that ``otel-internal-events examples`` prints is accepted by a real gateway."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_internal_events.cli import main
from otel_internal_events.definitions import load_definitions

from .conftest import RunningGateway

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
EVENTS = sorted(load_definitions(str(DEFINITIONS)).events)


def printed_api_call(event: str) -> tuple[str, dict[str, object]]:
    """The path and the JSON body of the curl call in the event's printed examples."""
    result = CliRunner().invoke(main, ["examples", event, "--definitions", str(DEFINITIONS)])
    assert result.exit_code == 0, result.output
    url = re.search(r"curl -X POST (\S+)", result.output)
    body = re.search(r"-d '(\{.*\})'", result.output)
    assert url is not None and body is not None, result.output
    return url.group(1), json.loads(body.group(1))


@pytest.mark.parametrize("event", EVENTS)
def test_the_printed_events_api_call_is_accepted_and_counted(gateway: RunningGateway, event: str) -> None:
    gateway.clear()
    url, body = printed_api_call(event)

    assert url.endswith("/api/v4/usage_data/track_event")
    response = gateway.post_api("track_event", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "rejected": 0, "problems": []}
    assert gateway.total(event) == 1
