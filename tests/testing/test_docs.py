"""The examples of docs/testing.md run and pass, on the shipped definitions."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import INNER_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "testing.md"
BLOCK = re.compile(r"^```(?:python|ini)\n# (?P<name>[\w.]+)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def test_the_examples_pass(pytester: pytest.Pytester, clean_environment: pytest.MonkeyPatch, redis_url: str) -> None:
    clean_environment.setenv("OTEL_INTERNAL_EVENTS_REDIS_URL", redis_url)
    shutil.copytree(ROOT / "definitions", pytester.path / "definitions")
    files = {match["name"]: match["body"] for match in BLOCK.finditer(DOC.read_text("utf-8"))}
    for name, body in files.items():
        (pytester.path / name).write_text(body)
    tests = sum(len(re.findall(r"^(?:async )?def test_", body, re.MULTILINE)) for body in files.values())

    result = pytester.runpytest_inprocess(*INNER_OPTIONS)

    assert {"pytest.ini", "app.py"} <= files.keys() and tests >= 15
    result.assert_outcomes(passed=tests)
