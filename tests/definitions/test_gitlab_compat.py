"""Real GitLab definition files (the sample in ``gitlab/``, see its SOURCE.md) load and validate unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from otel_internal_events.definitions import DefinitionRegistry, load_definitions

GITLAB = Path(__file__).resolve().parent / "gitlab"
SUFFIX = {"7d": "_weekly", "28d": "_monthly", "all": ""}


@pytest.fixture(scope="module")
def gitlab() -> Path:
    return GITLAB


@pytest.fixture(scope="module")
def registry(gitlab: Path) -> DefinitionRegistry:
    return load_definitions(gitlab)


def expected_key_paths(gitlab: Path) -> list[str]:
    """Key paths as GitLab expands them, read straight from the YAML."""
    keys: list[str] = []
    for path in sorted((gitlab / "metrics").rglob("*.yml")):
        document = yaml.safe_load(path.read_text("utf-8"))
        frames = document["time_frame"]
        if isinstance(frames, list):
            keys.extend(document["key_path"] + SUFFIX[frame] for frame in frames)
        else:
            keys.append(document["key_path"])
    return keys


def test_every_gitlab_event_file_loads(gitlab: Path, registry: DefinitionRegistry) -> None:
    documents = {path: yaml.safe_load(path.read_text("utf-8")) for path in (gitlab / "events").glob("*.yml")}
    internal = {path.stem for path, document in documents.items() if document.get("internal_events")}
    legacy = {(d.get("category"), d["action"]) for d in documents.values() if not d.get("internal_events")}

    assert internal
    assert legacy
    assert set(registry.events) == internal
    assert set(registry.legacy_events) == legacy


def test_every_gitlab_metric_file_loads_expanded(gitlab: Path, registry: DefinitionRegistry) -> None:
    expected = expected_key_paths(gitlab)

    assert expected
    assert len(registry.metrics) == len(expected)
    assert set(registry.metrics) == set(expected)


def test_gitlab_metrics_are_all_computed(registry: DefinitionRegistry) -> None:
    assert [key for key, metric in registry.metrics.items() if not metric.is_computed] == []


def test_gitlab_custom_property_filter_is_kept(registry: DefinitionRegistry) -> None:
    metric = registry.metric("counts.count_total_personal_access_token_created_granular_weekly")

    assert [(r.event, r.filter) for r in metric.rules] == [("create_pat", (("type", "granular"),))]
