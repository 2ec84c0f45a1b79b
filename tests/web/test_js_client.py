"""The browser client's own tests (Node's test runner with jsdom), run as part of this suite."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "js"


def test_the_browser_clients_node_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the browser client's tests")
    if not (CLIENT / "node_modules" / "jsdom").is_dir():
        pytest.fail("the browser client's dev dependencies are missing: 'npm ci' in clients/js (tasks.py test runs it)")

    run = subprocess.run([node, "--test", "test/"], cwd=CLIENT, capture_output=True, text=True, timeout=300)

    summary = dict(re.findall(r"^# (pass|fail|cancelled) (\d+)$", run.stdout, re.MULTILINE))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert summary.get("fail") == "0" and summary.get("cancelled") == "0"
    assert int(summary["pass"]) >= 60  # every test file was found and ran
