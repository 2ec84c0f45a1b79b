"""Import rules that import-linter cannot express for external packages."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "otel_internal_events"


def imported_modules(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def test_recording_uses_the_opentelemetry_api_only() -> None:
    modules = imported_modules(SRC / "recording")
    assert {m for m in modules if m.startswith("opentelemetry")} <= {
        "opentelemetry._logs",
        "opentelemetry.metrics",
        "opentelemetry.trace",
        "opentelemetry.util.types",
    }
    assert not {m for m in modules if m.startswith("opentelemetry.sdk")}
