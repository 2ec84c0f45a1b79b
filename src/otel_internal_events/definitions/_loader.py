"""Read definition trees: safe YAML, schema checks, models, cross-file checks.

One pass collects every problem; a tree with any problem raises
:class:`~otel_internal_events.errors.DefinitionsInvalidError` and yields no registry.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml

from ..errors import DefinitionError, DefinitionsInvalidError
from ._checks import check_tree
from ._model import (
    BUILTIN_PROPERTIES,
    TIME_FRAME_SUFFIX,
    AdditionalProperty,
    EventDefinition,
    EventRule,
    MetricDefinition,
    PropertyType,
)
from ._registry import DefinitionRegistry
from ._schema import field_path, schema_problems
from ._yaml import LineFinder, load_yaml

__all__ = ["definition_files", "load_definitions"]

_T = TypeVar("_T")

_SUFFIXES = (".yml", ".yaml")


def definition_files(root: Path) -> tuple[list[Path], list[Path]]:
    """The event files and metric files of a tree, each list sorted."""
    events = sorted(p for p in (root / "events").glob("*") if p.suffix in _SUFFIXES)
    metrics = sorted(p for p in (root / "metrics").rglob("*") if p.suffix in _SUFFIXES)
    return events, metrics


def _shown_files(root: Path) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Like :func:`definition_files`, each with the path to show in messages."""
    shown_root = _display(root)
    events, metrics = definition_files(root)
    return (
        [(p, os.path.join(shown_root, os.path.relpath(p, root))) for p in events],
        [(p, os.path.join(shown_root, os.path.relpath(p, root))) for p in metrics],
    )


def load_definitions(*roots: str | os.PathLike[str]) -> DefinitionRegistry:
    """Load and check one or more definition trees (each with ``events/`` and ``metrics/``).

    Raises :class:`DefinitionsInvalidError` listing every problem found.
    """
    if not roots:
        raise DefinitionsInvalidError([DefinitionError("<none>", "", "no definition folder given")])
    # Thousands of small dicts would set off many useless collections; none are cyclic.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(roots)
    finally:
        if collecting:
            gc.enable()


def _load(roots: tuple[str | os.PathLike[str], ...]) -> DefinitionRegistry:
    errors: list[DefinitionError] = []
    events: list[EventDefinition] = []
    metrics: list[MetricDefinition] = []
    memo: dict[Any, str] = {}
    for root in map(Path, roots):
        if not root.is_dir():
            errors.append(DefinitionError(_display(root), "", "definition folder not found"))
            continue
        event_files, metric_files = _shown_files(root)
        if not event_files and not metric_files:
            errors.append(
                DefinitionError(_display(root), "", "no definitions found (expected events/*.yml and metrics/**/*.yml)")
            )
        for path, shown in event_files:
            event = _guarded(_read_event, path, shown, errors, memo)
            if event is not None:
                events.append(event)
        for path, shown in metric_files:
            metrics.extend(_guarded(_read_metrics, path, shown, errors, memo) or ())
    errors.extend(check_tree(events, metrics))
    if errors:
        raise DefinitionsInvalidError(sorted(errors, key=lambda e: (e.path, e.line or 0, e.field)))
    return DefinitionRegistry(events, metrics)


def _guarded(read: Callable[..., _T], path: Path, shown: str, errors: list[DefinitionError], memo: Any) -> _T | None:
    """``read(...)``, with any unexpected failure on odd YAML (a list as a key, say) reported
    as a problem of that file rather than raised."""
    try:
        return read(path, shown, errors, memo)
    except Exception as exc:
        errors.append(DefinitionError(shown, "", f"cannot check this file: {exc}"))
        return None


def _display(path: Path) -> str:
    """The path relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read(
    path: Path, shown: str, errors: list[DefinitionError], memo: dict[Any, str]
) -> tuple[str, dict[str, Any] | None]:
    try:
        text = path.read_bytes()
        document = load_yaml(text, memo)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "cannot parse"
        errors.append(DefinitionError(shown, "", f"malformed YAML: {problem}", line))
        return shown, None
    except (OSError, yaml.YAMLError) as exc:
        errors.append(DefinitionError(shown, "", f"cannot read: {exc}"))
        return shown, None
    if not isinstance(document, dict):
        errors.append(DefinitionError(shown, "", "expected a mapping of fields at the top level", 1))
        return shown, None
    return shown, document


def _schema_errors(kind: str, path: Path, shown: str, document: dict[str, Any]) -> list[DefinitionError]:
    problems = list(schema_problems(kind, document))
    if not problems:
        return []
    lines = LineFinder(path)
    return [DefinitionError(shown, field_path(parts), message, lines.line_of(parts)) for parts, message in problems]


def _read_event(path: Path, shown: str, errors: list[DefinitionError], memo: dict[Any, str]) -> EventDefinition | None:
    shown, document = _read(path, shown, errors, memo)
    if document is None:
        return None
    problems = _schema_errors("event", path, shown, document)
    action = document.get("action")
    if isinstance(action, str) and path.stem != action:
        problems.append(
            DefinitionError(
                shown,
                "action",
                f"{action!r} does not match the file name (expected {action}.yml)",
                LineFinder(path).line_of(["action"]),
            )
        )
    errors.extend(problems)
    if problems:
        return None
    properties: dict[str, AdditionalProperty] = {}
    for name, spec in (document.get("additional_properties") or {}).items():
        declared: PropertyType = spec.get("type", "any")
        builtin = BUILTIN_PROPERTIES.get(name)
        if builtin is not None and declared not in ("any", builtin):
            problems.append(
                DefinitionError(
                    shown,
                    f"additional_properties.{name}.type",
                    f"the built-in '{name}' is a {builtin}, not a {declared}",
                    LineFinder(path).line_of(["additional_properties", name, "type"]),
                )
            )
            continue
        properties[name] = AdditionalProperty(name, spec["description"], builtin or declared)
    if problems:
        # Report every mismatched built-in, not only the first.
        errors.extend(problems)
        return None
    return EventDefinition(
        action=document["action"],
        description=document["description"],
        identifiers=frozenset(document.get("identifiers") or ()),
        additional_properties=MappingProxyType(properties),
        path=shown,
        fields=MappingProxyType(document),
    )


def _read_metrics(
    path: Path, shown: str, errors: list[DefinitionError], memo: dict[Any, str]
) -> list[MetricDefinition]:
    shown, document = _read(path, shown, errors, memo)
    if document is None:
        return []
    problems = _schema_errors("metric", path, shown, document)
    errors.extend(problems)
    if problems:
        return []
    frames = document["time_frame"]
    expand = isinstance(frames, list)
    frames = frames if expand else [frames]
    fields = MappingProxyType(document)
    metrics = []
    for frame in frames:
        key_path = document["key_path"] + (TIME_FRAME_SUFFIX[frame] if expand else "")
        rules = tuple(_rules(document.get("events") or (), time_framed=frame in ("7d", "28d")))
        metrics.append(
            MetricDefinition(
                key_path=key_path,
                time_frame=frame,
                description=document["description"],
                status=document["status"],
                data_source=document["data_source"],
                rules=rules,
                path=shown,
                fields=fields,
            )
        )
    return metrics


def _rules(entries: Iterable[Mapping[str, Any]], *, time_framed: bool) -> Iterable[EventRule]:
    for entry in entries:
        unique = entry.get("unique")
        yield EventRule(
            event=entry["name"],
            time_framed=time_framed,
            filter=tuple(sorted((entry.get("filter") or {}).items())),
            unique=unique.split(".", 1)[0] if unique else None,
            operator=entry.get("operator"),
        )
