"""``otel-internal-events validate``: summary, every problem, exit codes, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from otel_internal_events.cli import main

ROOT = Path(__file__).resolve().parents[2]

EVENT = """\
description: A page was opened
internal_events: true
action: open_page
identifiers: [user]
"""
METRIC = """\
key_path: counts.count_distinct_project_id_from_open_page
description: Projects that opened a page
value_type: number
status: active
time_frame: [7d, 28d]
data_source: internal_events
events:
  - name: open_page
    unique: projet.id
"""


def write_tree(root: Path, metric: str = METRIC) -> Path:
    (root / "events").mkdir(parents=True)
    (root / "metrics" / "counts_all").mkdir(parents=True)
    (root / "events" / "open_page.yml").write_text(EVENT)
    (root / "metrics" / "counts_all" / "open.yml").write_text(metric)
    return root


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.output


def test_valid_tree_prints_summary_by_time_frame_and_kind() -> None:
    code, output = run(str(ROOT / "definitions"), "--format", "json")
    summary = json.loads(output)
    assert code == 0
    assert summary["valid"] is True
    assert summary["events"] == 18
    assert summary["metrics"] == sum(summary["metrics_by_time_frame"].values())
    assert summary["metrics_table"]["all"]["unique"] == 0
    assert summary["metrics_by_kind"]["sum"] > 0


def test_text_summary_names_counts() -> None:
    code, output = run(str(ROOT / "definitions"))
    assert code == 0
    assert "valid" in output and "18 events" in output
    assert "time frame" in output


def test_invalid_tree_lists_every_problem_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "defs")
    (tmp_path / "defs" / "events" / "broken.yml").write_text("action: broken\ndescription: [\n")
    code, output = run("defs", "--format", "json")
    report = json.loads(output)
    assert code == 1
    assert report["valid"] is False
    fields = {(e["file"], e["field"]) for e in report["errors"]}
    assert fields == {
        ("defs/events/broken.yml", ""),
        ("defs/metrics/counts_all/open.yml", "events[0].unique"),
    }
    unique = next(e for e in report["errors"] if e["field"] == "events[0].unique")
    assert unique["line"] == 9
    assert unique["message"] == "'projet.id' is not one of: user.id, project.id, namespace.id, label, property, value"


def test_text_errors_name_file_line_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "defs", METRIC.replace("projet.id", "project.id"))
    code, output = run("defs")
    assert code == 1
    assert (
        "defs/metrics/counts_all/open.yml:9: events[0].unique: 'project.id' is not an identifier of event "
        "'open_page' (declared: user)" in output.replace("\n", "")
    )


def test_without_path_finds_definitions_of_the_current_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path / "definitions", METRIC.replace("projet.id", "user.id"))
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "src").mkdir()
    monkeypatch.chdir(tmp_path / "src")
    monkeypatch.delenv("OTEL_INTERNAL_EVENTS_DEFINITIONS", raising=False)
    code, output = run("--format", "json")
    assert code == 0
    assert json.loads(output)["paths"] == ["../definitions"]


def test_without_path_and_no_definitions_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OTEL_INTERNAL_EVENTS_DEFINITIONS", raising=False)
    code, output = run()
    assert code == 2
    assert "no definitions/ folder found" in output
