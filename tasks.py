#!/usr/bin/env python3
"""Set-up and tasks on a fresh machine with only Python and pip.

    python3 tasks.py demo     create .venv, install, run the demo on embedded defaults
    python3 tasks.py test     create .venv, install, run the whole test suite
    python3 tasks.py check    lint (ruff), types (mypy on src/), import layers (import-linter)
    python3 tasks.py bench    run every benchmark in benchmarks/

Extra arguments are passed on (to pytest for ``test``, to the demo command for ``demo``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("OTEL_IE_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def ensure_venv() -> None:
    """Create the virtual environment and install the package with its dev extras, once per
    change of pyproject.toml."""
    stamp = VENV / ".installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]")
    stamp.write_text(digest)


def run(*args: object) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT)
    if result.returncode:
        raise SystemExit(result.returncode)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test", "check", "bench"}:
        raise SystemExit(__doc__)
    task, rest = argv[0], argv[1:]
    ensure_venv()
    if task == "demo":
        run(BIN / "otel-internal-events", "demo", *rest)
    elif task == "test":
        run(PYTHON, "-m", "pytest", *rest)
    elif task == "check":
        run(PYTHON, "-m", "ruff", "check", "src", "tests", "benchmarks", "tasks.py")
        run(PYTHON, "-m", "ruff", "format", "--check", "src", "tests", "benchmarks", "tasks.py")
        run(PYTHON, "-m", "mypy", "src")
        run(BIN / "lint-imports")
    elif task == "bench":
        for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
            print(f"== {script.name}", flush=True)
            run(PYTHON, script, *rest)


if __name__ == "__main__":
    main(sys.argv[1:])
