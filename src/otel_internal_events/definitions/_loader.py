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
    depth = len(root.parts)  # the files lie below root: their paths start with its parts
    events, metrics = definition_files(root)
    return (
        [(p, os.path.join(shown_root, *p.parts[depth:])) for p in events],
        [(p, os.path.join(shown_root, *p.parts[depth:])) for p in metrics],
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
    # Files with schema problems are checked across files too (every problem in one pass), but
    # a field the schema already faulted is not reported twice.
    faulted = {(error.path, error.field) for error in errors}
    errors.extend(error for error in check_tree(events, metrics) if (error.path, error.field) not in faulted)
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
    """The event of a file, with its problems appended to ``errors``.

    A file with schema problems still gives the event its fields describe (when it has an
    action), so that the cross-file checks report its other problems in the same pass; a
    tree with any problem yields no registry, so such an event is never tracked.
    """
    shown, document = _read(path, shown, errors, memo)
    if document is None:
        return None
    problems = _schema_errors("event", path, shown, document)
    action = document.get("action")
    internal = document.get("internal_events") is True
    # Only internal events are named after their action; legacy files are
    # <timestamp>_<category>_<action>.yml and GitLab keys them by category and action.
    if internal and isinstance(action, str) and path.stem != action:
        problems.append(
            DefinitionError(
                shown,
                "action",
                f"{action!r} does not match the file name (expected {action}.yml)",
                LineFinder(path).line_of(["action"]),
            )
        )
    properties: dict[str, AdditionalProperty] = {}
    declared_properties = document.get("additional_properties")
    for name, spec in (declared_properties if isinstance(declared_properties, dict) else {}).items():
        if not isinstance(name, str) or not isinstance(spec, dict):
            continue  # the schema said why
        kind = spec.get("type")
        declared: PropertyType = "string" if kind == "string" else "number" if kind == "number" else "any"
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
        description = spec.get("description")
        properties[name] = AdditionalProperty(name, _text(description), builtin or declared)
    errors.extend(problems)
    if not isinstance(action, str):
        return None
    identifiers = document.get("identifiers")
    category = document.get("category")
    return EventDefinition(
        action=action,
        description=_text(document.get("description")),
        identifiers=frozenset(i for i in identifiers if isinstance(i, str))
        if isinstance(identifiers, list)
        else frozenset(),
        additional_properties=MappingProxyType(properties),
        path=shown,
        fields=MappingProxyType(document),
        category=category if isinstance(category, str) else None,
        internal=internal,
    )


def _read_metrics(
    path: Path, shown: str, errors: list[DefinitionError], memo: dict[Any, str]
) -> list[MetricDefinition]:
    """The metrics of a file (one per time frame), its problems appended to ``errors``; like
    :func:`_read_event`, a file with schema problems still gives what its fields describe."""
    shown, document = _read(path, shown, errors, memo)
    if document is None:
        return []
    errors.extend(_schema_errors("metric", path, shown, document))
    key_path = document.get("key_path")
    given = document.get("time_frame")
    expand = isinstance(given, list)
    if not isinstance(key_path, str):
        return []
    frames: list[str]
    if isinstance(given, list):
        frames = list(dict.fromkeys(f for f in given if isinstance(f, str) and f in TIME_FRAME_SUFFIX))
    elif given in ("7d", "28d", "all", "none"):
        frames = [given]
    else:
        return []
    data_source = _text(document.get("data_source"))
    entries = _event_entries(document, data_source)
    fields = MappingProxyType(document)
    metrics = []
    for frame in frames:
        metrics.append(
            MetricDefinition(
                key_path=key_path + (TIME_FRAME_SUFFIX[frame] if expand else ""),
                time_frame=frame,
                description=_text(document.get("description")),
                status=_text(document.get("status")),
                data_source=data_source,
                rules=tuple(_rules(entries, time_framed=frame in ("7d", "28d"))),
                path=shown,
                fields=fields,
            )
        )
    return metrics


_UNIQUES = frozenset({"user.id", "project.id", "namespace.id", "label", "property", "value"})


def _event_entries(document: Mapping[str, Any], data_source: str) -> list[Mapping[str, Any]]:
    """The metric's event rules as ``events`` entries.

    A ``redis_hll`` metric is GitLab's older unique count: its events, listed in ``events``
    or as names in ``options.events``, count distinct users unless an entry says otherwise.
    """
    events = document.get("events")
    entries: list[Mapping[str, Any]] = [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []
    if data_source != "redis_hll":
        return entries
    if not entries:
        options = document.get("options")
        names = options.get("events") if isinstance(options, dict) else None
        entries = [{"name": name} for name in names if isinstance(name, str)] if isinstance(names, list) else []
    return [entry if "unique" in entry else {**entry, "unique": "user.id"} for entry in entries]


def _rules(entries: Iterable[Mapping[str, Any]], *, time_framed: bool) -> Iterable[EventRule]:
    for entry in entries:
        name, unique, operator = entry.get("name"), entry.get("unique"), entry.get("operator")
        if not isinstance(name, str):
            continue  # the schema said why
        found = entry.get("filter")
        pairs = found.items() if isinstance(found, dict) else ()
        yield EventRule(
            event=name,
            time_framed=time_framed,
            filter=tuple(
                sorted(
                    ((k, v) for k, v in pairs if isinstance(k, str) and isinstance(v, str | int | float)),
                    key=lambda kv: kv[0],
                )
            ),
            unique=unique.split(".", 1)[0] if isinstance(unique, str) and unique in _UNIQUES else None,
            operator=operator if isinstance(operator, str) else None,
        )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
