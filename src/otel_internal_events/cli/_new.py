"""``otel-internal-events new``: GitLab's definition generator, with flags for scripts and CI.

Three flows, as in GitLab's ``scripts/internal_events/cli.rb``: a new event, new metrics for
existing events, or an event with its metrics in one go. With flags, nothing is asked (a
terminal is only asked to confirm); on a terminal without flags, the questions follow GitLab's
order. Either way the same checks run, the key paths are shown before anything is written, the
result is loaded in a scratch copy of the tree first, and no existing file is overwritten
without a confirmation (or ``--force``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ..definitions import DefinitionRegistry
from ._new_plan import (
    EVENT_IDENTIFIERS,
    TIERS,
    EventPlan,
    EventShape,
    MetricPlan,
    check_action,
    check_description,
    check_metric_name,
    check_properties,
    check_time_frames,
    check_tree,
    check_unique,
    event_document,
    expanded_key_paths,
    metric_document,
    metric_file,
    parse_filter,
    parse_names,
    parse_property,
    shape_of,
    shared,
    to_yaml,
    write_files,
)
from ._paths import find_definition_roots, load_or_exit


def _fail(flag: str, message: str | None) -> None:
    if message:
        raise click.ClickException(f"{flag}: {message}")


@click.command()
@click.option("--action", help="New event: its name, <action>_<target_of_action>_<where/when>.")
@click.option("--description", help="New event: where and when it fires.")
@click.option("--identifiers", help="New event: e.g. project,namespace,user ('' for none).")
@click.option("--property", "properties", multiple=True, help='label="..." or custom name:string="...".')
@click.option("--product-group", help="Owning product group.")
@click.option("--tiers", help="e.g. free,premium,ultimate (default: all three).")
@click.option("--event", "events", multiple=True, help="Metrics for this existing event (repeatable).")
@click.option("--time-frames", help="Metric time frames: 7d,28d,all.")
@click.option("--unique", help="Count distinct user.id, project.id, namespace.id or a property.")
@click.option("--filter", "filters", multiple=True, help="Count only where property=value (repeatable).")
@click.option("--name", "metric_name", help="Metric name instead of the event names (required with --filter).")
@click.option("--metric-description", help="Metric description (default: generated).")
@click.option("--definitions", "definitions", type=click.Path(file_okay=False), help="Definitions folder.")
@click.option("--yes", "-y", is_flag=True, help="Write without asking (never overwrites without --force).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def new(
    action: str | None,
    description: str | None,
    identifiers: str | None,
    properties: tuple[str, ...],
    product_group: str | None,
    tiers: str | None,
    events: tuple[str, ...],
    time_frames: str | None,
    unique: str | None,
    filters: tuple[str, ...],
    metric_name: str | None,
    metric_description: str | None,
    definitions: str | None,
    yes: bool,
    force: bool,
) -> None:
    """Define a new event, new metrics for existing events, or an event with its metrics.

    On a terminal without flags it asks GitLab's questions; with flags it asks nothing but a
    final confirmation (none with --yes). Exits 1 on bad input, writing nothing.
    """
    roots = find_definition_roots((definitions,) if definitions else ())
    # A project's first definition starts from an empty tree, which validate would refuse.
    empty = not any(any(Path(r).rglob("*.yml")) for r in roots)
    registry = DefinitionRegistry([], []) if empty else load_or_exit(roots, "fix them before adding definitions")
    root = Path(roots[0])
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    flow_flags = (action, description, identifiers, properties, events, time_frames, unique, filters)
    if terminal and not yes and not any(flow_flags):
        from ._new_prompts import ask_plans

        event, metrics = ask_plans(registry, root)
        if event is None and not metrics:
            return  # the examples of an existing event were shown
    else:
        event = _event_from_flags(
            registry, root, action, description, identifiers, properties, product_group, tiers, force
        )
        metrics = _metrics_from_flags(
            registry,
            root,
            event,
            events,
            time_frames,
            unique,
            filters,
            metric_name,
            metric_description,
            product_group,
            tiers,
            force,
        )
    files: dict[str, str] = {}
    if event is not None:
        files[f"events/{event.action}.yml"] = to_yaml(event_document(event))
    for metric in metrics:
        files[metric_file(metric)] = to_yaml(metric_document(metric))
    _show_plan(root, event, metrics)
    existing = [relative for relative in files if (root / relative).exists()]
    if existing and not force:
        if yes or not terminal:
            raise click.ClickException(f"{', '.join(existing)} already exist(s): pass --force to overwrite")
        if not _confirm(f"Overwrite {', '.join(existing)}?", default=False):
            raise click.ClickException("nothing written")
    problems = check_tree(roots, files)
    if problems:
        for problem in problems:
            click.echo(f"error {problem}", err=True)
        raise click.ClickException("the new definitions would not validate; nothing written")
    if not yes:
        if not terminal:
            raise click.ClickException("--yes: no terminal to confirm on; pass --yes to write")
        if not _confirm("Write these files?", default=True):
            raise click.ClickException("nothing written")
    for path in write_files(str(root), files):
        click.echo(f"wrote {path}")
    if event is not None:
        _print_examples(roots, event.action)


def _confirm(question: str, *, default: bool) -> bool:
    import questionary

    answer = questionary.confirm(question, default=default).unsafe_ask()
    return bool(answer)


def _show_plan(root: Path, event: EventPlan | None, metrics: Sequence[MetricPlan]) -> None:
    if event is not None:
        click.echo(f"event {event.action}: {root / 'events' / f'{event.action}.yml'}")
    for metric in metrics:
        click.echo(f"metric {root / metric_file(metric)}")
        for key_path in expanded_key_paths(metric):
            click.echo(f"  key path {key_path}")


def _print_examples(roots: Sequence[str], action: str) -> None:
    """The usage examples of the new event, as ``otel-internal-events examples`` prints them."""
    from ..definitions import load_definitions
    from ._examples import print_examples

    click.echo("\nHow to track it:")
    print_examples(load_definitions(*roots).events[action])


def _event_from_flags(
    registry: DefinitionRegistry,
    root: Path,
    action: str | None,
    description: str | None,
    identifiers: str | None,
    properties: tuple[str, ...],
    product_group: str | None,
    tiers: str | None,
    force: bool,
) -> EventPlan | None:
    if action is None:
        for flag, value in (("--description", description), ("--identifiers", identifiers)):
            _fail(flag, "only with --action (a new event)" if value is not None else None)
        _fail("--property", "only with --action (a new event)" if properties else None)
        return None
    _fail("--action", check_action(action, registry, root / "events", force=force))
    _fail("--description", check_description(description or ""))
    if identifiers is None:
        _fail("--identifiers", "required with --action, e.g. --identifiers project,namespace,user ('' for none)")
    names, problem = parse_names(identifiers or "", EVENT_IDENTIFIERS, "identifier")
    _fail("--identifiers", problem)
    specs = []
    for text in properties:
        spec, problem = parse_property(text)
        _fail("--property", problem)
        assert spec is not None
        specs.append(spec)
    _fail("--property", check_properties(specs))
    return EventPlan(action, (description or "").strip(), names, tuple(specs), product_group, _tiers(tiers) or TIERS)


def _tiers(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names, problem = parse_names(text, TIERS, "tier")
    _fail("--tiers", problem or (None if names else "name at least one tier"))
    return names


def _metrics_from_flags(
    registry: DefinitionRegistry,
    root: Path,
    event: EventPlan | None,
    events: tuple[str, ...],
    time_frames: str | None,
    unique: str | None,
    filters: tuple[str, ...],
    metric_name: str | None,
    metric_description: str | None,
    product_group: str | None,
    tiers: str | None,
    force: bool,
) -> list[MetricPlan]:
    if time_frames is None:
        for flag, given in (("--event", events), ("--unique", unique), ("--filter", filters), ("--name", metric_name)):
            _fail(flag, "needs --time-frames (a new metric)" if given else None)
        if event is None:
            raise click.ClickException(
                "--action: pass --action (a new event) or --event with --time-frames (metrics for existing events)"
            )
        return []
    shapes: list[EventShape] = [event.shape()] if event is not None else []
    for name in events:
        shape = shape_of(registry, name)
        _fail("--event", f"unknown event '{name}'" if shape is None else None)
        assert shape is not None
        shapes.append(shape)
    _fail("--event", None if shapes else "name the events to count (--event NAME), or define one with --action")
    key: str | None = None
    if unique is not None:
        key, problem = check_unique(unique, shapes)
        _fail("--unique", problem)
    frames, problem = parse_names(time_frames, ("7d", "28d", "all"), "time frame")
    _fail("--time-frames", problem or check_time_frames(frames, key))
    values: dict[str, tuple[str | int | float, ...]] = {}
    for text in filters:
        pair, problem = parse_filter(text, shapes, key)
        _fail("--filter", problem)
        assert pair is not None
        values[pair[0]] = (*values.get(pair[0], ()), pair[1])
    group = product_group or shared([s.product_group for s in shapes])
    plan = MetricPlan(
        tuple(shapes),
        frames,
        key,
        values,
        metric_name,
        metric_description,
        group if isinstance(group, str) else None,
        _tiers(tiers) or _shared_tiers(shapes),
    )
    _fail("--name", check_metric_name(plan, registry, root, force=force))
    return [plan]


def _shared_tiers(shapes: Sequence[EventShape]) -> tuple[str, ...] | None:
    tiers = shared([s.tiers for s in shapes])
    return tiers if isinstance(tiers, tuple) else None
