"""Each web module names the extra to install when its framework is missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import sys
sys.modules[{framework!r}] = None  # as if it were not installed
try:
    import otel_internal_events.{module}
except ImportError as error:
    print(type(error).__name__, error)
"""


@pytest.mark.parametrize(
    ("module", "framework", "extra"),
    [("flask", "flask", "flask"), ("starlette", "starlette", "starlette"), ("django", "django", "django")],
)
def test_a_missing_framework_names_its_extra(module: str, framework: str, extra: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(module=module, framework=framework)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == (
        f"MissingExtraError otel_internal_events.{module} needs the '{framework}' package: "
        f"pip install 'otel-internal-events[{extra}]'"
    )
