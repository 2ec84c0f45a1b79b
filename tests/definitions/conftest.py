"""Helpers that write GitLab-style definition files into a temporary tree and load it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from otel_internal_events.definitions import load_definitions
from otel_internal_events.errors import DefinitionError, DefinitionsInvalidError

ALL_IDENTIFIERS = ("project", "namespace", "user")


def write_yaml(path: Path, document: Any) -> Path:
    """Write ``document`` as block-style YAML, keys in the given order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False, default_flow_style=False), "utf-8")
    return path


def write_text(path: Path, text: str) -> Path:
    """Write raw text (for files that are not valid definitions, or not YAML at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def declare(*names: str, **typed: str) -> dict[str, dict[str, str]]:
    """``additional_properties``: ``names`` without a type, ``typed`` as name=type."""
    props = {name: {"description": f"the {name}"} for name in names}
    props.update({name: {"description": f"the {name}", "type": kind} for name, kind in typed.items()})
    return props


def write_event(
    root: Path,
    action: str,
    *,
    identifiers: Iterable[str] | None = ALL_IDENTIFIERS,
    additional_properties: Mapping[str, Any] | None = None,
    file_name: str | None = None,
    drop: Iterable[str] = (),
    **fields: Any,
) -> Path:
    """Write ``<root>/events/<action>.yml``; ``fields`` add or replace keys, ``drop`` removes them."""
    document: dict[str, Any] = {
        "description": f"{action} happened",
        "internal_events": True,
        "action": action,
        "identifiers": None if identifiers is None else list(identifiers),
    }
    if additional_properties is not None:
        document["additional_properties"] = dict(additional_properties)
    document.update(fields)
    for key in drop:
        document.pop(key)
    return write_yaml(root / "events" / (file_name or f"{action}.yml"), document)


def write_metric(
    root: Path,
    key_path: str,
    events: list[dict[str, Any]],
    *,
    time_frame: str | list[str] = "7d",
    folder: str = "counts_7d",
    file_name: str | None = None,
    drop: Iterable[str] = (),
    **fields: Any,
) -> Path:
    """Write ``<root>/metrics/<folder>/<last key_path part>.yml`` for an internal_events metric."""
    document: dict[str, Any] = {
        "key_path": key_path,
        "description": f"Count of {key_path}",
        "value_type": "number",
        "status": "active",
        "time_frame": time_frame,
        "data_source": "internal_events",
        "events": events,
    }
    document.update(fields)
    for key in drop:
        document.pop(key)
    name = file_name or f"{key_path.rsplit('.', 1)[-1]}.yml"
    return write_yaml(root / "metrics" / folder / name, document)


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the first line of ``path`` that contains ``text``."""
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def problems(*roots: Path) -> list[DefinitionError]:
    """Every problem the load of ``roots`` reports (the load must fail)."""
    with pytest.raises(DefinitionsInvalidError) as caught:
        load_definitions(*roots)
    return caught.value.errors


def only_problem(*roots: Path) -> DefinitionError:
    """The single problem the load of ``roots`` reports."""
    found = problems(*roots)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def shown(root: Path, path: Path) -> str:
    """How the loader names ``path`` in errors when the working directory is ``root.parent``."""
    return str(path.relative_to(root.parent))


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty definition tree ``<tmp>/defs``, with ``<tmp>`` as the working directory."""
    monkeypatch.chdir(tmp_path)
    tree = tmp_path / "defs"
    (tree / "events").mkdir(parents=True)
    (tree / "metrics").mkdir()
    return tree
