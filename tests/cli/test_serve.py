"""``otel-internal-events serve``: the gateway as an operator runs it, several workers, embedded Redis."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from click.testing import CliRunner

from otel_internal_events.cli import main

ROOT = Path(__file__).resolve().parents[2]
EVENT = {
    "resourceLogs": [
        {
            "scopeLogs": [
                {
                    "logRecords": [
                        {
                            "eventName": "run_ci_job",
                            "attributes": [
                                {"key": "internal_events.user.id", "value": {"intValue": "5"}},
                                {"key": "internal_events.project.id", "value": {"intValue": "6"}},
                                {"key": "internal_events.namespace.id", "value": {"intValue": "7"}},
                            ],
                        }
                    ]
                }
            ]
        }
    ]
}


def test_two_workers_share_the_embedded_redis_and_stop_cleanly(free_port: int, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    environment.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "otel_internal_events.cli", "serve", str(ROOT / "definitions")]
    server = subprocess.Popen(
        [*command, "--port", str(free_port), "--workers", "2"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{free_port}"
    # No connection kept alive: each request opens its own, and both workers take some.
    client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        found = re.search(r"redis://[\d.]+:\d+", banner)
        assert found, banner
        redis_url = found.group(0)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if client.get(f"{url}/-/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        for _ in range(20):
            assert client.post(f"{url}/v1/logs", json=EVENT).status_code == 200
        counters = redis.Redis.from_url(redis_url)
        assert int(counters.get("{event_counters}_run_ci_job") or 0) == 20
        counters.close()
    finally:
        client.close()
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert server.returncode == 0, output
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()  # stopped with the gateway


def test_broken_definitions_stop_it_before_it_listens(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "metrics").mkdir()
    (tmp_path / "events" / "x.yml").write_text("description: no action\n")

    result = CliRunner().invoke(main, ["serve", str(tmp_path)])

    assert result.exit_code == 1
    assert "the gateway was not started" in result.output
    assert "x.yml" in result.output
