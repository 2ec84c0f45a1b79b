"""The questions of ``otel-internal-events new``, in the order of GitLab's generator.

Arrow-key menus and inline validation (questionary); every answer is checked by the same
functions as the flags (``_new_plan``), so a prompt refuses what a flag would.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import questionary

from ..definitions import BUILTIN_PROPERTIES, DefinitionRegistry
from ._new_plan import (
    IDENTIFIER_CHOICES,
    NAME_ADVICE,
    NAME_PATTERN,
    TIER_CHOICES,
    EventPlan,
    EventShape,
    MetricPlan,
    PropertySpec,
    check_action,
    check_description,
    check_metric_name,
    check_time_frames,
    metric_description,
    parse_filter,
    shape_of,
    shared,
)

NEW_EVENT = "New event (track when a scenario occurs)"
NEW_METRIC = "New metric(s) for existing events (count them over time)"
EVENT_WITH_METRICS = "New event with its metrics"
VIEW_EXAMPLES = "View usage examples for an existing event"
_DONE = "No more properties"
_CUSTOM = "Add a custom property"


def _valid(check: Callable[[str], str | None]) -> Callable[[str], bool | str]:
    def validate(text: str) -> bool | str:
        return check(text.strip()) or True

    return validate


def ask_plans(registry: DefinitionRegistry, root: Path) -> tuple[EventPlan | None, list[MetricPlan]]:
    """Ask for a flow, then its answers; Ctrl-C raises KeyboardInterrupt (click exits). Viewing
    an event's usage examples prints them and plans nothing."""
    flow = questionary.select(
        "What would you like to do?", choices=[NEW_EVENT, NEW_METRIC, EVENT_WITH_METRICS, VIEW_EXAMPLES]
    ).unsafe_ask()
    if flow == VIEW_EXAMPLES:
        from ._examples import print_examples

        name = questionary.select("Which event?", choices=sorted(registry.events)).unsafe_ask()
        print_examples(registry.events[name])
        return None, []
    event = ask_event(registry, root) if flow in (NEW_EVENT, EVENT_WITH_METRICS) else None
    if flow == NEW_EVENT:
        return event, []
    shapes = [event.shape()] if event is not None else _ask_events(registry)
    metrics = [ask_metric(registry, root, shapes)]
    while questionary.confirm("Add another metric for these events?", default=False).unsafe_ask():
        metrics.append(ask_metric(registry, root, shapes))
    return event, metrics


def ask_event(registry: DefinitionRegistry, root: Path) -> EventPlan:
    """GitLab's order: description, action, identifiers, properties, group, tiers."""
    description = questionary.text(
        "Describe the event: where and when does it fire?", validate=_valid(check_description)
    ).unsafe_ask()
    action = questionary.text(
        f"Name the event ({NAME_ADVICE}):",
        validate=_valid(lambda a: check_action(a, registry, root / "events")),
    ).unsafe_ask()
    identifiers = questionary.select(
        "Which identifiers does the event carry?",
        choices=[questionary.Choice(c or "none (an instance-level event)", value=c) for c in IDENTIFIER_CHOICES],
    ).unsafe_ask()
    properties = _ask_properties()
    group = questionary.text("Owning product group (optional):").unsafe_ask().strip()
    tiers = questionary.select("Which tiers?", choices=list(TIER_CHOICES)).unsafe_ask()
    return EventPlan(
        action.strip(),
        description.strip(),
        tuple(i for i in identifiers.split(",") if i),
        tuple(properties),
        group or None,
        tuple(tiers.split(",")),
    )


def _ask_properties() -> list[PropertySpec]:
    chosen: list[PropertySpec] = []
    while True:
        names = {p.name for p in chosen}
        custom_allowed = {"label", "property"} <= names or "value" in names
        choices: list[questionary.Choice] = [questionary.Choice(_DONE, value=_DONE)]
        for name, kind in BUILTIN_PROPERTIES.items():
            if name not in names:
                choices.append(questionary.Choice(f"{name} ({kind})", value=name))
        choices.append(
            questionary.Choice(
                _CUSTOM, value=_CUSTOM, disabled=None if custom_allowed else "after label and property, or value"
            )
        )
        picked = questionary.select("Additional properties?", choices=choices).unsafe_ask()
        if picked == _DONE:
            return chosen
        chosen_type: str | None = None
        if picked == _CUSTOM:
            picked = (
                questionary.text(
                    "Property name:",
                    validate=_valid(partial(_check_custom_name, taken=names)),
                )
                .unsafe_ask()
                .strip()
            )
            chosen_type = questionary.select("Its type?", choices=["string", "number", "any"]).unsafe_ask()
        description = questionary.text(
            f"Describe '{picked}':", validate=_valid(lambda t: None if t else "a description is required")
        ).unsafe_ask()
        chosen.append(PropertySpec(picked, description.strip(), None if chosen_type in (None, "any") else chosen_type))


def _check_custom_name(name: str, *, taken: set[str]) -> str | None:
    if not NAME_PATTERN.match(name):
        return "only a-z, 0-9 and _"
    if name in BUILTIN_PROPERTIES or name in taken:
        return f"'{name}' is already a property"
    return None


def _ask_events(registry: DefinitionRegistry) -> list[EventShape]:
    names = questionary.checkbox(
        "Which events should the metric count?",
        choices=sorted(registry.events),
        validate=lambda chosen: bool(chosen) or "choose at least one event (space selects)",
    ).unsafe_ask()
    shapes = [shape_of(registry, name) for name in names]
    return [s for s in shapes if s is not None]


def ask_metric(registry: DefinitionRegistry, root: Path, shapes: list[EventShape]) -> MetricPlan:
    """Unique by what, filters, time frames; the key paths are shown before writing."""
    common_ids = sorted(set.intersection(*(set(s.identifiers) for s in shapes)) & {"user", "project", "namespace"})
    common_props = sorted(set.intersection(*(set(s.property_types) for s in shapes)))
    uniques = [questionary.Choice("total count (every occurrence)", value="")]
    uniques += [questionary.Choice(f"unique {i}s ({i}.id)", value=f"{i}.id") for i in common_ids]
    uniques += [questionary.Choice(f"unique values of '{p}'", value=p) for p in common_props]
    unique = questionary.select("Count what?", choices=uniques).unsafe_ask() or None
    filters: dict[str, tuple[str | int | float, ...]] = {}
    for prop in common_props:
        if prop == unique:
            continue
        answer = questionary.text(
            f"Count only where {prop} equals any of (comma-separated, empty for all):",
            validate=_valid(_filter_check(prop, shapes, unique)),
        ).unsafe_ask()
        values = tuple(
            pair[1]
            for v in answer.split(",")
            if v.strip()
            for pair in [parse_filter(f"{prop}={v}", shapes, unique)[0]]
            if pair
        )
        if values:
            filters[prop] = values
    frames = questionary.checkbox(
        "Time frames?",
        choices=[
            questionary.Choice("weekly (7d)", value="7d", checked=True),
            questionary.Choice("monthly (28d)", value="28d", checked=True),
            questionary.Choice("all time", value="all", disabled="not for unique counts" if unique else None),
        ],
        validate=lambda chosen: check_time_frames(chosen, unique) or True,
    ).unsafe_ask()
    group = shared([s.product_group for s in shapes])
    tiers = shared([s.tiers for s in shapes])
    plan = MetricPlan(
        tuple(shapes),
        tuple(f for f in ("7d", "28d", "all") if f in frames),
        unique,
        filters,
        None,
        None,
        group if isinstance(group, str) else None,
        tiers if isinstance(tiers, tuple) else None,
    )
    if check_metric_name(plan, registry, root, force=False):
        plan.name = (
            questionary.text(
                "Name the metric (it has filters or clashes with an existing one):",
                validate=_valid(lambda n: _check_name(plan, n, registry, root)),
            )
            .unsafe_ask()
            .strip()
        )
    plan.description = questionary.text("Describe the metric:", default=metric_description(plan)).unsafe_ask()
    return plan


def _filter_check(prop: str, shapes: list[EventShape], unique: str | None) -> Callable[[str], str | None]:
    def check(text: str) -> str | None:
        return _check_filter_values(prop, text, shapes, unique)

    return check


def _check_filter_values(prop: str, text: str, shapes: list[EventShape], unique: str | None) -> str | None:
    for value in (v for v in text.split(",") if v.strip()):
        problem = parse_filter(f"{prop}={value}", shapes, unique)[1]
        if problem:
            return problem
    return None


def _check_name(plan: MetricPlan, name: str, registry: DefinitionRegistry, root: Path) -> str | None:
    if not name:
        return "a name is required"
    plan.name = name
    try:
        return check_metric_name(plan, registry, root, force=False)
    finally:
        plan.name = None
