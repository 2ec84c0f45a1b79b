"""``otel-internal-events new``: every flag path, each validation error, and the prompts."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from otel_internal_events.cli import main
from otel_internal_events.definitions import load_definitions

ROOT = Path(__file__).resolve().parents[2]
EVENT = [
    "--action", "click_save_button_in_sidebar",
    "--description", "The save button of the sidebar was clicked",
    "--identifiers", "project,namespace,user",
    "--property", 'label="Which sidebar"',
    "--property", 'value="Seconds since the page opened"',
    "--property", 'size:number="Bytes saved"',
]  # fmt: skip

NEW_ONE = ["--action", "new_one", "--description", "d", "--identifiers", "user"]
PIPELINE_28D = ["--event", "create_pipeline", "--time-frames", "28d"]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "definitions"
    shutil.copytree(ROOT / "definitions", root)
    return root


def run(tree: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["new", "--definitions", str(tree), *args])


def files(tree: Path) -> set[str]:
    return {str(p.relative_to(tree)) for p in tree.rglob("*.yml")}


def spawn_new(project: Path) -> object:
    """``otel-internal-events new`` in a pseudo-terminal, in ``project``.

    A real terminal answers prompt_toolkit's cursor position request at once; pexpect's does
    not, and each prompt would wait a second for the answer.
    """
    pexpect = pytest.importorskip("pexpect")
    command = str(Path(sys.executable).with_name("otel-internal-events"))
    environment = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"}
    return pexpect.spawn(
        command, ["new"], cwd=str(project), env=environment, encoding="utf-8", timeout=20, dimensions=(40, 200)
    )


def test_a_new_event_is_written_and_loads(tree: Path) -> None:
    result = run(tree, *EVENT, "--product-group", "editor", "--yes")
    assert result.exit_code == 0, result.output
    event = load_definitions(str(tree)).events["click_save_button_in_sidebar"]
    assert event.identifiers == {"project", "namespace", "user"}
    assert event.additional_properties["size"].type == "number"
    assert event.fields["product_group"] == "editor"
    assert "internal_events: true" in (tree / "events" / "click_save_button_in_sidebar.yml").read_text()


def test_an_event_with_its_metrics_shows_key_paths_and_registers_them(tree: Path) -> None:
    result = run(tree, *EVENT, "--time-frames", "7d,28d", "--unique", "user.id", "--yes")
    assert result.exit_code == 0, result.output
    key = "redis_hll_counters.count_distinct_user_id_from_click_save_button_in_sidebar"
    assert f"{key}_weekly" in result.output and f"{key}_monthly" in result.output
    registry = load_definitions(str(tree))
    assert registry.metrics[f"{key}_monthly"].events == ("click_save_button_in_sidebar",)
    assert (tree / "metrics" / "counts_all" / "count_distinct_user_id_from_click_save_button_in_sidebar.yml").exists()


def test_a_total_metric_for_existing_events_goes_to_its_time_frame_folder(tree: Path) -> None:
    result = run(tree, "--event", "create_pipeline", "--event", "finish_pipeline", "--time-frames", "28d", "--yes")
    assert result.exit_code == 0, result.output
    key = "counts.count_total_create_pipeline_and_finish_pipeline_monthly"
    metric = load_definitions(str(tree)).metrics[key]
    assert metric.kind == "total" and metric.time_frame == "28d"
    assert (tree / "metrics" / "counts_28d" / "count_total_create_pipeline_and_finish_pipeline_monthly.yml").exists()


def test_filters_give_one_rule_per_value_under_the_given_name(tree: Path) -> None:
    result = run(
        tree, "--event", "run_ci_job", "--time-frames", "7d,28d,all",
        "--filter", "label=failed", "--filter", "label=canceled", "--name", "broken_jobs", "--yes",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metric = load_definitions(str(tree)).metrics["counts.count_total_broken_jobs"]
    assert sorted(rule.filter for rule in metric.rules) == [(("label", "canceled"),), (("label", "failed"),)]


def test_a_unique_property_metric(tree: Path) -> None:
    result = run(
        tree, "--event", "create_pipeline", "--time-frames", "28d", "--unique", "label", "--name", "x", "--yes"
    )
    assert result.exit_code == 0, result.output
    assert "redis_hll_counters.count_distinct_label_from_x_monthly" in load_definitions(str(tree)).metrics


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--action", "Bad-Name", "--description", "d", "--identifiers", "user"], "--action: 'Bad-Name' may hold only"),
        (["--action", "create_merge_request", "--description", "d", "--identifiers", "user"], "already exists"),
        (["--action", "new_one", "--description", " ", "--identifiers", "user"], "--description: a description is"),
        (["--action", "new_one", "--description", "d"], "--identifiers: required"),
        ([*NEW_ONE[:-1], "user,team"], "--identifiers: unknown identifier 'team'"),
        ([*NEW_ONE, "--property", "label"], "--property: 'label' needs a description"),
        ([*NEW_ONE, "--property", 'value:string="v"'], "always a number"),
        ([*NEW_ONE, "--property", 'size:date="v"'], "string or number"),
        ([*NEW_ONE, "--property", 'size="v"'], "needs label and property, or value"),
        ([*NEW_ONE, "--tiers", "gold"], "--tiers: unknown tier 'gold'"),
        ([*NEW_ONE, "--time-frames", "28d", "--unique", "project.id"], "--unique: 'project.id' is not an identifier"),
        ([*PIPELINE_28D, "--unique", "colour"], "--unique: 'colour' is neither"),
        (["--event", "nope", "--time-frames", "28d"], "--event: unknown event 'nope'"),
        (["--event", "create_pipeline"], "--event: needs --time-frames"),
        (["--event", "create_pipeline", "--time-frames", "28d,1y"], "--time-frames: unknown time frame '1y'"),
        (["--event", "create_merge_request", "--time-frames", "28d,all", "--unique", "user.id"], "a unique count"),
        ([*PIPELINE_28D, "--filter", "colour=red", "--name", "n"], "--filter: 'colour' is not an additional property"),
        ([*PIPELINE_28D, "--filter", "value=many", "--name", "n"], "--filter: 'value' is a number"),
        ([*PIPELINE_28D, "--filter", "label=x"], "--name: a filtered metric needs a name"),
        (["--event", "create_pipeline", "--time-frames", "all"], "--name: key path 'counts.count_total_create"),
        ([], "pass --action (a new event) or --event"),
    ],
)  # fmt: skip
def test_bad_input_exits_1_naming_the_flag_and_writes_nothing(tree: Path, args: list[str], message: str) -> None:
    before = files(tree)
    result = run(tree, *args, "--yes")
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert files(tree) == before


def test_without_yes_and_without_a_terminal_nothing_is_written(tree: Path) -> None:
    before = files(tree)
    result = run(tree, *EVENT)
    assert result.exit_code == 1
    assert "pass --yes" in result.output
    assert "click_save_button_in_sidebar.yml" in result.output  # the plan is shown first
    assert files(tree) == before


def test_an_existing_metric_file_is_not_overwritten_without_force(tree: Path) -> None:
    args = [*PIPELINE_28D, "--unique", "label", "--name", "x"]
    assert run(tree, *args, "--yes").exit_code == 0
    target = tree / "metrics" / "counts_28d" / "count_distinct_label_from_x_monthly.yml"
    target.write_text(target.read_text().replace("Count of", "Edited count of"))
    again = run(tree, *args, "--yes")
    assert again.exit_code == 1 and "already exist" in again.output
    assert "Edited" in target.read_text()
    forced = run(tree, *args, "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert "Edited" not in target.read_text()


def test_an_invalid_tree_is_refused_before_asking_anything(tree: Path) -> None:
    (tree / "events" / "broken.yml").write_text("action: 1\n")
    result = run(tree, *EVENT, "--yes")
    assert result.exit_code == 1
    assert not (tree / "events" / "click_save_button_in_sidebar.yml").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect needs a pseudo-terminal")
def test_the_interactive_event_with_metrics_flow(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    (tmp_path / "definitions" / "events").mkdir(parents=True)
    (tmp_path / "definitions" / "metrics").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    child: Any = spawn_new(tmp_path)
    down, enter = "\x1b[B", "\r"
    try:
        child.expect("What would you like to do")
        child.send(down + down + enter)  # an event with its metrics
        child.expect("Describe the event")
        child.send("A report was exported" + enter)
        child.expect("Name the event")
        child.send("Export" + enter)  # refused inline
        child.expect("may hold only")
        child.send("\b" * 6 + "export_report_from_dashboard" + enter)
        child.expect("Which identifiers")
        child.send(down + enter)  # namespace,user
        child.expect("Additional properties")
        child.send(down + enter)  # label
        child.expect("Describe 'label'")
        child.send("Report format" + enter)
        child.expect("Additional properties")
        child.send(enter)  # no more
        child.expect("product group")
        child.send("analytics" + enter)
        child.expect("Which tiers")
        child.send(enter)
        child.expect("Count what")
        child.send(down + down + enter)  # unique users (namespace, user sorted)
        child.expect("Count only where label")
        child.send(enter)
        child.expect("Time frames")
        child.send(enter)
        child.expect("Describe the metric")
        child.send(enter)
        child.expect("Add another metric")
        child.send("n")
        child.expect("redis_hll_counters.count_distinct_user_id_from_export_report_from_dashboard_weekly")
        child.expect("Write these files")
        child.send("y")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    registry = load_definitions(str(tmp_path / "definitions"))
    assert registry.events["export_report_from_dashboard"].identifiers == {"namespace", "user"}
    key = "redis_hll_counters.count_distinct_user_id_from_export_report_from_dashboard_monthly"
    assert registry.metrics[key].rules[0].unique == "user"


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect needs a pseudo-terminal")
def test_the_interactive_view_examples_flow_prints_them_and_writes_nothing(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    shutil.copytree(ROOT / "definitions", tmp_path / "definitions")
    (tmp_path / "pyproject.toml").write_text("")
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "definitions").rglob("*"))
    child: Any = spawn_new(tmp_path)
    down, enter = "\x1b[B", "\r"
    try:
        child.expect("What would you like to do")
        child.send(down * 3 + enter)
        child.expect("Which event")
        child.send(enter)  # the first in name order: apply_code_suggestion
        child.expect("track_internal_event")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert "apply_code_suggestion" in child.before
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "definitions").rglob("*")) == before


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect needs a pseudo-terminal")
def test_the_interactive_new_event_flow(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    (tmp_path / "definitions" / "events").mkdir(parents=True)
    (tmp_path / "definitions" / "metrics").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    child: Any = spawn_new(tmp_path)
    enter = "\r"
    try:
        child.expect("What would you like to do")
        child.send(enter)  # a new event
        child.expect("Describe the event")
        child.send("A report was shared" + enter)
        child.expect("Name the event")
        child.send("share_report_from_dashboard" + enter)
        child.expect("Which identifiers")
        child.send(enter)  # the first choice
        child.expect("Additional properties")
        child.send(enter)  # none
        child.expect("product group")
        child.send("analytics" + enter)
        child.expect("Which tiers")
        child.send(enter)
        child.expect("Write these files")
        child.send("y")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    event = load_definitions(str(tmp_path / "definitions")).events["share_report_from_dashboard"]
    assert event.fields["product_group"] == "analytics"
    assert list((tmp_path / "definitions" / "metrics").rglob("*.yml")) == []  # an event only


@pytest.mark.skipif(sys.platform == "win32", reason="pexpect needs a pseudo-terminal")
def test_the_interactive_metrics_for_an_existing_event_flow(tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    root = tmp_path / "definitions"
    (root / "events").mkdir(parents=True)
    (root / "metrics").mkdir()
    (tmp_path / "pyproject.toml").write_text("")
    made = run(root, "--action", "share_report", "--description", "d", "--identifiers", "user", "--yes")
    assert made.exit_code == 0, made.output
    child: Any = spawn_new(tmp_path)
    down, enter, space = "\x1b[B", "\r", " "
    try:
        child.expect("What would you like to do")
        child.send(down + enter)  # metrics for existing events
        child.expect("Which events should the metric count")
        child.send(space + enter)  # the only event
        child.expect("Count what")
        child.send(enter)  # total count
        child.expect("Time frames")
        child.send(enter)  # weekly and monthly
        child.expect("Describe the metric")
        child.send(enter)
        child.expect("Add another metric")
        child.send("n")
        child.expect("counts.count_total_share_report_weekly")
        child.expect("Write these files")
        child.send("y")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    registry = load_definitions(str(root))
    assert "counts.count_total_share_report_weekly" in registry.metrics
    assert "counts.count_total_share_report_monthly" in registry.metrics
