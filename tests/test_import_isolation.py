"""Importing the package pulls in no optional or web-framework dependency."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("redis", "snowplow_tracker", "flask", "fastapi", "django", "starlette", "requests")


def test_import_loads_no_optional_dependency() -> None:
    code = (
        "import sys, otel_internal_events\n"
        f"print(','.join(sorted(name for name in {HEAVY!r} if name in sys.modules)))\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == ""
