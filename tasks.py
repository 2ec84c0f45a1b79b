#!/usr/bin/env python3
"""Set-up and tasks on a fresh machine with only Python and pip.

    python3 tasks.py demo     create .venv, install, run the demo on embedded defaults
    python3 tasks.py test     create .venv, install (and the browser client's node packages, and
                              Debian's Chromium when missing and run as root), run the whole test suite
    python3 tasks.py check    lint (ruff), types (mypy on src/), import layers (import-linter)
    python3 tasks.py bench    run every benchmark in benchmarks/

Extra arguments are passed on (to pytest for ``test``, to the demo command for ``demo``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
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


def ensure_js_client() -> None:
    """Install the browser client's dev dependencies (jsdom, yaml) for its tests, once per
    change of its package-lock.json."""
    client = ROOT / "clients" / "js"
    stamp = client / "node_modules" / ".installed"
    digest = hashlib.sha256((client / "package-lock.json").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the browser client's tests need node and npm (node >= 18)")
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=client)
    if result.returncode:
        raise SystemExit(result.returncode)
    stamp.write_text(digest)


def ensure_chromium() -> None:
    """The browser client's end-to-end test drives the system's Chromium: install Debian's
    package when it is missing and this is root on a Debian-like system."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        print("note: no Chromium; install it (Debian: apt-get install chromium) for the browser end-to-end test")
        return
    print("installing Chromium (Debian's chromium package) for the browser end-to-end test", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL)
        if result.returncode:
            raise SystemExit(result.returncode)


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
        ensure_js_client()
        ensure_chromium()
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
