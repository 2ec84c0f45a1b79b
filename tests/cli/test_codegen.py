"""``otel-internal-events codegen``: typed functions per event, checked by mypy, and ``--check``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

import otel_internal_events as oie
from otel_internal_events.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = str(ROOT / "definitions")


def generate(output: Path) -> None:
    result = CliRunner().invoke(main, ["codegen", SHIPPED, "--output", str(output)])
    assert result.exit_code == 0, result.output


def mypy(folder: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on ``files`` of ``folder``, in a new interpreter, without a cache."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null", *files],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def typed_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The generated module for the shipped definitions, a good caller, and two bad ones: one
    mypy run for them all."""
    folder = tmp_path_factory.mktemp("typed")
    generate(folder / "tracking_plan.py")
    (folder / "good_caller.py").write_text(
        "from tracking_plan import track_merge_merge_request\n\n"
        "track_merge_merge_request(user=1, project=7, label='api', value=12, merge_strategy='squash')\n"
    )
    (folder / "misspelled_event.py").write_text(
        "from tracking_plan import track_merge_merge_reqest\n\ntrack_merge_merge_reqest(user=1)\n"
    )
    (folder / "bad_properties.py").write_text(
        "from tracking_plan import track_merge_merge_request\n\n"
        "track_merge_merge_request(user=1, merge_stategy='squash')\n"
        "track_merge_merge_request(user=1, value='twelve')\n"
    )
    files = ("tracking_plan.py", "good_caller.py", "misspelled_event.py", "bad_properties.py")
    return folder, mypy(folder, *files)


def errors_in(result: subprocess.CompletedProcess[str], file: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(f"{file}:")]


def test_the_generated_module_and_a_correct_caller_pass_mypy_strict(
    typed_project: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = typed_project
    assert errors_in(result, "tracking_plan.py") == []
    assert errors_in(result, "good_caller.py") == []


def test_mypy_rejects_a_misspelled_event(typed_project: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, result = typed_project
    assert any("track_merge_merge_reqest" in line for line in errors_in(result, "misspelled_event.py")), result.stdout


def test_mypy_rejects_a_misspelled_property_and_a_wrong_type(
    typed_project: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = typed_project
    errors = errors_in(result, "bad_properties.py")
    assert any('"merge_stategy"' in line for line in errors), result.stdout
    assert any('"value"' in line and '"str"' in line for line in errors), result.stdout


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("tracking_plan_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_for(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_generated_function_tracks_its_event(configure: Any, tmp_path: Path) -> None:
    configure()
    generate(tmp_path / "tracking_plan.py")
    plan = load(tmp_path / "tracking_plan.py")
    key = "counts.count_total_squash_merges"
    before = oie.metric_value(key)
    project = SimpleNamespace(id=7, namespace=SimpleNamespace(id=1007))
    plan.track_merge_merge_request(user=SimpleNamespace(id=1), project=project, merge_strategy="squash", value=3)
    assert oie.flush()
    wait_for(lambda: oie.metric_value(key) == before + 1)


def test_properties_left_at_none_are_not_sent(configure: Any, tmp_path: Path) -> None:
    configure()
    generate(tmp_path / "tracking_plan.py")
    plan = load(tmp_path / "tracking_plan.py")
    from otel_internal_events.testing import trigger_internal_events

    with trigger_internal_events("merge_merge_request").with_(user=1, project=7, additional_properties={}):
        plan.track_merge_merge_request(user=1, project=7)


def test_check_passes_on_a_fresh_file(tmp_path: Path) -> None:
    output = tmp_path / "tracking_plan.py"
    generate(output)
    result = CliRunner().invoke(main, ["codegen", SHIPPED, "--output", str(output), "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_check_fails_on_a_stale_file_and_leaves_it(tmp_path: Path) -> None:
    output = tmp_path / "tracking_plan.py"
    generate(output)
    stale = output.read_text().replace("track_open_web_ide", "track_opened_web_ide")
    output.write_text(stale)
    result = CliRunner().invoke(main, ["codegen", SHIPPED, "--output", str(output), "--check"])
    assert result.exit_code == 1
    assert "stale" in result.output
    assert output.read_text() == stale


def test_check_fails_when_the_file_is_missing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["codegen", SHIPPED, "--output", str(tmp_path / "none.py"), "--check"])
    assert result.exit_code == 1
    assert "missing" in result.output


def test_output_is_deterministic_and_names_its_command() -> None:
    first = CliRunner().invoke(main, ["codegen", SHIPPED])
    second = CliRunner().invoke(main, ["codegen", SHIPPED])
    assert first.exit_code == 0
    assert first.output == second.output
    assert "Generated by ``otel-internal-events codegen``" in first.output
    names = [line.split("(")[0][len("def ") :] for line in first.output.splitlines() if line.startswith("def ")]
    assert names == sorted(names)
    assert "track_create_merge_request" in names


def test_untyped_custom_properties_take_any_scalar(tmp_path: Path) -> None:
    events = tmp_path / "defs" / "events"
    events.mkdir(parents=True)
    (tmp_path / "defs" / "metrics").mkdir()
    (events / "open_page.yml").write_text(
        "description: A page is opened\ninternal_events: true\naction: open_page\nidentifiers: [user]\n"
        "additional_properties:\n  referrer: {description: Where from}\n"
        "  depth: {description: How deep, type: number}\n"
    )
    result = CliRunner().invoke(main, ["codegen", str(tmp_path / "defs")])
    assert result.exit_code == 0, result.output
    assert "    user: object = None,\n" in result.output
    assert "    depth: int | float | None = None,\n" in result.output
    assert "    referrer: str | int | float | None = None,\n" in result.output
