"""What ``otel-internal-events new`` writes: the checks on each answer, and the YAML files.

Every check returns a message (or None) so that flags and prompts say the same thing; the
flag layer adds the flag's name, the prompts show it inline. The naming follows GitLab's
generator (``scripts/internal_events/cli``): ``events/<action>.yml``, and metrics in
``metrics/counts_<time frame>/`` named ``count_total_<events>`` or
``count_distinct_<unique>_from_<events>``.
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..definitions import BUILTIN_PROPERTIES, DefinitionRegistry, load_definitions
from ..errors import DefinitionsInvalidError

NAME_PATTERN = re.compile(r"^[a-z0-9_]+$")
NAME_ADVICE = "use <action>_<target_of_action>_<where/when>, e.g. click_save_button_in_issue_sidebar"
EVENT_IDENTIFIERS = ("project", "namespace", "user", "feature_enabled_by_namespace_ids")
#: GitLab's identifier choices, most common first ("" is an instance-level event).
IDENTIFIER_CHOICES = ("project,namespace,user", "namespace,user", "user", "project,namespace", "namespace", "")
TIERS = ("free", "premium", "ultimate")
TIER_CHOICES = ("free,premium,ultimate", "premium,ultimate", "ultimate")
TIME_FRAMES = ("7d", "28d", "all")
UNIQUE_IDENTIFIERS = ("user", "project", "namespace")
MAX_FILE_NAME = 100
_SUFFIX = {"7d": "_weekly", "28d": "_monthly", "all": ""}


@dataclass(frozen=True)
class PropertySpec:
    """One additional property: its description and, for custom ones, an optional type."""

    name: str
    description: str
    type: str | None = None


@dataclass(frozen=True)
class EventShape:
    """What a metric needs to know of an event: its identifiers and property types."""

    action: str
    identifiers: frozenset[str]
    property_types: Mapping[str, str]
    product_group: str | None = None
    tiers: tuple[str, ...] | None = None


@dataclass
class EventPlan:
    """A new event, as asked or given by flags."""

    action: str
    description: str
    identifiers: tuple[str, ...] = ()
    properties: tuple[PropertySpec, ...] = ()
    product_group: str | None = None
    tiers: tuple[str, ...] = TIERS

    def shape(self) -> EventShape:
        types = {p.name: p.type or BUILTIN_PROPERTIES.get(p.name, "any") for p in self.properties}
        return EventShape(self.action, frozenset(self.identifiers), types, self.product_group, self.tiers)


@dataclass
class MetricPlan:
    """A new metric file (one or several time frames) over one or several events."""

    events: tuple[EventShape, ...]
    time_frames: tuple[str, ...]
    unique: str | None = None
    filters: Mapping[str, tuple[str | int | float, ...]] = field(default_factory=dict)
    name: str | None = None
    description: str | None = None
    product_group: str | None = None
    tiers: tuple[str, ...] | None = None


# --- checks: each returns a message, or None when the answer is fine ---------------------------


def check_action(action: str, registry: DefinitionRegistry, events_dir: Path, *, force: bool = False) -> str | None:
    """A new action: GitLab's name rule, and no collision with an existing event or file."""
    if not action:
        return f"an action is required ({NAME_ADVICE})"
    if not NAME_PATTERN.match(action):
        return f"'{action}' may hold only a-z, 0-9 and _ ({NAME_ADVICE})"
    if force:
        return None
    if action in registry.events or (events_dir / f"{action}.yml").exists():
        return f"event '{action}' already exists (pass --force to overwrite its file)"
    return None


def check_description(text: str) -> str | None:
    return None if text.strip() else "a description is required: say where and when the event fires"


def parse_names(text: str, allowed: Sequence[str], what: str) -> tuple[tuple[str, ...], str | None]:
    """A comma-separated list of ``allowed`` names, without duplicates."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in allowed]
    if unknown:
        return (), f"unknown {what} {', '.join(map(repr, unknown))} (choose from {', '.join(allowed)})"
    if len(set(names)) != len(names):
        return (), f"a {what} is listed twice in '{text}'"
    return names, None


def parse_property(text: str) -> tuple[PropertySpec | None, str | None]:
    """``label="description"``, or for a custom property ``name:type="description"``."""
    head, sep, description = text.partition("=")
    description = description.strip().strip("\"'").strip()
    if not sep or not description:
        return None, f'\'{text}\' needs a description: name="description" or name:type="description"'
    name, _, kind = (part.strip() for part in head.partition(":"))
    if not NAME_PATTERN.match(name):
        return None, f"property name '{name}' may hold only a-z, 0-9 and _"
    if name in BUILTIN_PROPERTIES:
        if kind and kind != BUILTIN_PROPERTIES[name]:
            return None, f"built-in property '{name}' is always a {BUILTIN_PROPERTIES[name]}"
        return PropertySpec(name, description), None
    if kind and kind not in ("string", "number"):
        return None, f"type of '{name}' must be string or number, not '{kind}'"
    return PropertySpec(name, description, kind or None), None


def check_properties(properties: Sequence[PropertySpec]) -> str | None:
    """Each once; custom ones only after label and property, or value (GitLab's rule)."""
    names = [p.name for p in properties]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        return f"property {', '.join(twice)} given twice"
    custom = [n for n in names if n not in BUILTIN_PROPERTIES]
    if custom and not ({"label", "property"} <= set(names) or "value" in names):
        return (
            f"custom property {', '.join(custom)} needs label and property, or value, declared first: "
            "use the built-in ones before adding your own"
        )
    return None


def check_unique(unique: str, events: Sequence[EventShape]) -> tuple[str | None, str | None]:
    """``user.id``/``project.id``/``namespace.id`` or a property every event declares."""
    key = unique.removesuffix(".id") if unique.endswith(".id") else unique
    if unique.endswith(".id") or key in UNIQUE_IDENTIFIERS:
        if key not in UNIQUE_IDENTIFIERS:
            return None, f"'{unique}' is not an identifier (choose from user.id, project.id, namespace.id)"
        missing = [e.action for e in events if key not in e.identifiers]
        if missing:
            return None, f"'{key}.id' is not an identifier of event {', '.join(map(repr, missing))}"
        return f"{key}.id", None
    missing = [e.action for e in events if key not in e.property_types]
    if missing:
        return None, (
            f"'{unique}' is neither an identifier (user.id, project.id, namespace.id) nor a property "
            f"of event {', '.join(map(repr, missing))}"
        )
    return key, None


def parse_filter(
    text: str, events: Sequence[EventShape], unique: str | None
) -> tuple[tuple[str, str | int | float] | None, str | None]:
    """``property=value``, the value typed by the property's declared type."""
    key, sep, raw = (part.strip() for part in text.partition("="))
    if not sep or not key or not raw:
        return None, f"'{text}' must be property=value"
    if key == unique:
        return None, f"'{key}' is the unique key of the metric and cannot be filtered"
    missing = [e.action for e in events if key not in e.property_types]
    if missing:
        return None, f"'{key}' is not an additional property of event {', '.join(map(repr, missing))}"
    kinds = {e.property_types[key] for e in events}
    number = _number(raw)
    if "number" in kinds:
        if number is None:
            return None, f"'{key}' is a number, got '{raw}'"
        return (key, number), None
    if "string" in kinds or number is None:
        return (key, raw), None
    return (key, number), None


def _number(raw: str) -> int | float | None:
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            continue
    return None


def check_time_frames(frames: Sequence[str], unique: str | None) -> str | None:
    if not frames:
        return "choose at least one time frame (7d, 28d, all)"
    if unique and "all" in frames:
        return "a unique count has no all-time value: use 7d and/or 28d"
    return None


# --- naming -------------------------------------------------------------------------------------


def metric_value_name(plan: MetricPlan) -> str:
    """GitLab's key: ``count_distinct_<unique>_from_<events>`` or ``count_total_<events>``."""
    parts = ["count", f"distinct_{plan.unique.replace('.', '_')}_from" if plan.unique else "total"]
    parts.append(plan.name or "_and_".join(dict.fromkeys(e.action for e in plan.events)))
    if len(plan.time_frames) == 1:
        return "_".join(parts) + _SUFFIX[plan.time_frames[0]]
    return "_".join(parts)


def metric_key_path(plan: MetricPlan) -> str:
    return ("redis_hll_counters." if plan.unique else "counts.") + metric_value_name(plan)


def metric_file(plan: MetricPlan) -> str:
    """Relative to the definitions root; several time frames go to ``counts_all``."""
    folder = f"counts_{plan.time_frames[0]}" if len(plan.time_frames) == 1 else "counts_all"
    return f"metrics/{folder}/{metric_value_name(plan)}.yml"


def expanded_key_paths(plan: MetricPlan) -> list[str]:
    """The key paths the loader will give the file, one per time frame."""
    key_path = metric_key_path(plan)
    if len(plan.time_frames) == 1:
        return [key_path]
    return [key_path + _SUFFIX[f] for f in plan.time_frames]


def check_metric_name(plan: MetricPlan, registry: DefinitionRegistry, root: Path, *, force: bool) -> str | None:
    """A custom name is required with filters or a long name; no key path may clash."""
    if plan.name is not None and not NAME_PATTERN.match(plan.name):
        return f"metric name '{plan.name}' may hold only a-z, 0-9 and _"
    if plan.filters and plan.name is None:
        return "a filtered metric needs a name (e.g. --name failed_pipelines) to tell it from the unfiltered one"
    if len(metric_value_name(plan)) + 4 > MAX_FILE_NAME:
        return f"the file name would exceed {MAX_FILE_NAME} characters: give a shorter metric name"
    target = (root / metric_file(plan)).resolve()
    for key_path in expanded_key_paths(plan):
        existing = registry.metrics.get(key_path)
        if existing is None:
            continue
        if force and Path(existing.path).resolve() == target:
            continue
        return f"key path '{key_path}' already exists in {existing.path}"
    return None


# --- documents ----------------------------------------------------------------------------------


def event_document(plan: EventPlan) -> dict[str, object]:
    """GitLab's key order; empty keys dropped."""
    properties = {
        p.name: ({"description": p.description} | ({"type": p.type} if p.type else {})) for p in plan.properties
    }
    document: dict[str, object] = {
        "description": plan.description.strip(),
        "internal_events": True,
        "action": plan.action,
        "identifiers": list(plan.identifiers) or None,
        "additional_properties": properties or None,
        "product_group": plan.product_group or None,
        "tiers": list(plan.tiers) or None,
    }
    return {k: v for k, v in document.items() if v is not None}


def metric_description(plan: MetricPlan) -> str:
    if plan.description:
        return plan.description.strip()
    events = " or ".join(dict.fromkeys(e.action for e in plan.events))
    if plan.unique is None:
        what = "Count of"
    elif plan.unique.endswith(".id"):
        what = f"Count of unique {plan.unique.removesuffix('.id')}s from"
    else:
        what = f"Count of unique '{plan.unique}' values from"
    where = "".join(f", {k} in {list(v)}" for k, v in plan.filters.items())
    return f"{what} {events}{where}"


def metric_document(plan: MetricPlan) -> dict[str, object]:
    """GitLab's key order; one ``events`` entry per event and combination of filter values."""
    entries: list[dict[str, object]] = []
    combinations = [
        dict(zip(plan.filters, values, strict=True)) for values in itertools.product(*plan.filters.values())
    ]
    for event in dict.fromkeys(e.action for e in plan.events):
        for combination in combinations:
            entry: dict[str, object] = {"name": event}
            if plan.unique:
                entry["unique"] = plan.unique
            if combination:
                entry["filter"] = combination
            entries.append(entry)
    frames: object = plan.time_frames[0] if len(plan.time_frames) == 1 else list(plan.time_frames)
    document: dict[str, object] = {
        "key_path": metric_key_path(plan),
        "description": metric_description(plan),
        "product_group": plan.product_group or None,
        "performance_indicator_type": [],
        "value_type": "number",
        "status": "active",
        "time_frame": frames,
        "data_source": "internal_events",
        "data_category": "optional",
        "tiers": list(plan.tiers) if plan.tiers else None,
        "events": entries,
    }
    return {k: v for k, v in document.items() if v is not None}


def to_yaml(document: Mapping[str, object]) -> str:
    return yaml.safe_dump(
        dict(document), sort_keys=False, explicit_start=True, width=150, allow_unicode=True, default_flow_style=False
    )


def shared(values: Sequence[object]) -> object:
    """The one value every event has, else None (GitLab's "copy event attributes")."""
    return values[0] if values and len(set(map(repr, values))) == 1 else None


# --- writing ------------------------------------------------------------------------------------


def check_tree(roots: Sequence[str], files: Mapping[str, str]) -> list[str]:
    """Every problem the new files would leave, found in a temporary copy of the tree."""
    with tempfile.TemporaryDirectory() as scratch:
        copies = []
        for index, root in enumerate(roots):
            copy = Path(scratch) / str(index)
            shutil.copytree(root, copy)
            copies.append(str(copy))
        for relative, text in files.items():
            target = Path(copies[0]) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        try:
            load_definitions(*copies)
        except DefinitionsInvalidError as exc:
            return [str(error).replace(copies[0], roots[0]) for error in exc.errors]
    return []


def write_files(root: str, files: Mapping[str, str]) -> list[Path]:
    written = []
    for relative, text in files.items():
        target = Path(root) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def shape_of(registry: DefinitionRegistry, action: str) -> EventShape | None:
    """The shape of an existing internal event, or None when there is none."""
    event = registry.events.get(action)
    if event is None:
        return None
    group = event.fields.get("product_group")
    tiers = event.fields.get("tiers")
    return EventShape(
        action,
        event.identifiers,
        {name: p.type for name, p in event.additional_properties.items()},
        group if isinstance(group, str) else None,
        tuple(str(t) for t in tiers) if isinstance(tiers, list) else None,
    )
