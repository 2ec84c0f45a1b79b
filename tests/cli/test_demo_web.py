"""``otel-internal-events demo --web``: the browser demo page as a user starts it, on a shared Redis."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = re.compile(r'<script type="application/json" id="otel-internal-events-context">(.*?)</script>')


def test_the_demo_page_serves_its_context_script_and_metric_values_and_cleans_up(
    free_port: int, redis_url: str, redis_client: redis.Redis
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_INTERNAL_EVENTS_")}
    command = [sys.executable, "-m", "otel_internal_events.cli", "demo", "--web", "--port", str(free_port)]
    server = subprocess.Popen(
        [*command, "--redis-url", redis_url],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{free_port}"
    client = httpx.Client()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = client.get(f"{url}/")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the demo page did not start"
                time.sleep(0.05)
        found = CONTEXT.search(page.text)
        assert found, page.text[:500]
        context = json.loads(found.group(1))
        script = re.search(r'from "(/assets/internal_events\.[0-9a-f]{16}\.js)"', page.text)
        assert script and client.get(url + script.group(1)).status_code == 200

        response = client.post(
            f"{url}{context['endpoint']}",
            json={"events": [{"event": "create_merge_request_comment", "project_id": context["project_id"]}]},
            headers={"Authorization": f"Bearer {context['token']}"},
        )
        assert response.json() == {"accepted": 1, "rejected": 0, "problems": []}
        values = {item["key_path"]: item["value"] for item in client.get(f"{url}/demo/metrics").json()}
        assert values["counts.count_total_create_merge_request_comment"] == 1
        assert any(key.startswith(b"demo-") for key in redis_client.scan_iter(match="demo-*"))
    finally:
        client.close()
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=30)[0]
    assert "browser demo on" in output
    assert not list(redis_client.scan_iter(match="demo-*"))  # its keys are deleted when it stops
