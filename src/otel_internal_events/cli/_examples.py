"""``otel-internal-events examples EVENT``: the code that tracks an event, from its definition.

Every snippet is generated from the definition (its identifiers, its declared properties and
their types), so it tracks a valid event as written: the backend call, the mixin, a decorated
function, the events API, the browser and a test with our matchers. ``otel-internal-events new``
prints the same after writing an event.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import click
from rich.console import Console
from rich.syntax import Syntax

from ..definitions import IDENTIFIERS, DefinitionRegistry, EventDefinition
from ..errors import UnknownEventError
from ._paths import definitions_option, find_definition_roots, load_or_exit

__all__ = ["Example", "event_examples", "examples", "examples_text"]

#: What a placeholder looks like for each property type ("any": untyped custom properties).
_PLACEHOLDERS: dict[str, str | int] = {"string": "string", "number": 42, "any": "string"}
#: Placeholder ids: a project's namespace is a different id from the namespace given alone.
_IDS = {"user": 1, "project": 7, "namespace": 1007}
#: The marker of a snippet's heading in plain text (a line of its own, easy to split on).
HEADING_MARKER = "==> "


@dataclass(frozen=True, slots=True)
class Example:
    """One snippet: a heading, its language (for highlighting) and its code."""

    title: str
    language: str
    code: str


def _identifiers(definition: EventDefinition) -> list[str]:
    """The declared identifiers in GitLab's order (user, project, namespace)."""
    return [name for name in IDENTIFIERS if name in definition.identifiers]


def _placeholders(definition: EventDefinition) -> dict[str, str | int]:
    """A value of the right type for each declared property, built-ins first, then by name."""
    properties = definition.additional_properties
    builtins = [p for p in ("label", "property", "value") if p in properties]
    custom = sorted(p for p in properties if p not in builtins)
    return {name: _PLACEHOLDERS[properties[name].type] for name in (*builtins, *custom)}


def _python_dict(values: dict[str, str | int]) -> str:
    return "{" + ", ".join(f"{key!r}: {value!r}".replace("'", '"') for key, value in values.items()) + "}"


def _call_arguments(definition: EventDefinition, indent: str) -> str:
    """``user=user, project=project, additional_properties={...},`` one per line."""
    lines = [f"{indent}{name}={name}," for name in _identifiers(definition) if _passed(definition, name)]
    properties = _placeholders(definition)
    if properties:
        lines.append(f"{indent}additional_properties={_python_dict(properties)},")
    return "\n".join(lines)


def _passed(definition: EventDefinition, identifier: str) -> bool:
    """A namespace comes from the project when both are declared, so only the project is passed."""
    return not (identifier == "namespace" and "project" in definition.identifiers)


def _backend(definition: EventDefinition) -> Example:
    arguments = _call_arguments(definition, "    ")
    code = "from otel_internal_events import track_internal_event\n\n"
    code += (
        f'track_internal_event(\n    "{definition.action}",\n{arguments}\n)\n'
        if arguments
        else (f'track_internal_event("{definition.action}")\n')
    )
    return Example("Backend call", "python", code)


def _mixin(definition: EventDefinition) -> Example:
    arguments = _call_arguments(definition, "            ")
    call = (
        f'self.track_internal_event(\n            "{definition.action}",\n{arguments}\n        )'
        if arguments
        else f'self.track_internal_event("{definition.action}")'
    )
    parameters = "".join(f", {name}" for name in _identifiers(definition) if _passed(definition, name))
    code = (
        "from otel_internal_events import InternalEventsTracking\n\n\n"
        "class ExampleService(InternalEventsTracking):  # the Snowplow category is the class name\n"
        f"    def execute(self{parameters}):\n"
        f"        {call}\n"
    )
    return Example("Mixin (InternalEventsTracking)", "python", code)


def _decorated(definition: EventDefinition) -> Example:
    identifiers = [name for name in _identifiers(definition) if _passed(definition, name)]
    properties = _placeholders(definition)
    # Each property is read from the parameter of the same name: a string whose first segment
    # is a parameter is an attribute path, any other string a literal.
    lines = [f"    {name}={name!r},".replace("'", '"') for name in identifiers]
    if properties:
        paths = ", ".join(f'"{name}": "{name}"' for name in properties)
        lines.append(f"    additional_properties={{{paths}}},")
    decorator = f'@tracks_internal_event(\n    "{definition.action}",\n' + "".join(line + "\n" for line in lines) + ")"
    parameters = ", ".join([*identifiers, *properties])
    code = (
        "from otel_internal_events import tracks_internal_event\n\n\n"
        f"{decorator}\n"
        f"def {definition.action}({parameters}):\n"
        "    ...  # tracked once this returns\n"
    )
    return Example("Decorated function", "python", code)


def _api_body(definition: EventDefinition) -> dict[str, object]:
    body: dict[str, object] = {"event": definition.action}
    for name in ("project", "namespace"):
        if name in definition.identifiers:
            body[f"{name}_id"] = _IDS[name]
    properties = _placeholders(definition)
    if properties:
        body["additional_properties"] = properties
    return body


def _http(definition: EventDefinition) -> Example:
    body = json.dumps(_api_body(definition))
    code = (
        "# the user is the token's (otel-internal-events token new --user ID)\n"
        "curl -X POST http://localhost:4318/api/v4/usage_data/track_event \\\n"
        '  -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\\n'
        f"  -d '{body}'\n"
    )
    return Example("Events API (otel-internal-events serve)", "bash", code)


def _browser(definition: EventDefinition) -> Example:
    properties = _placeholders(definition)
    code = "import { InternalEvents } from '~/tracking';\n\n"
    if properties:
        fields = "".join(
            f"  {name}: {json.dumps(value).replace(chr(34), chr(39))},\n" for name, value in properties.items()
        )
        code += f"InternalEvents.trackEvent('{definition.action}', {{\n{fields}}});\n"
    else:
        code += f"InternalEvents.trackEvent('{definition.action}');\n"
    return Example("Browser (InternalEvents.trackEvent)", "javascript", code)


def html_attributes(definition: EventDefinition) -> str:
    """The ``data-event-*`` attributes that track ``definition`` when the element is clicked."""
    properties = _placeholders(definition)
    attributes = [f'data-event-tracking="{definition.action}"']
    for name in ("label", "property", "value"):
        if name in properties:
            attributes.append(f'data-event-{name}="{properties[name]}"')
    additional = {k: v for k, v in properties.items() if k not in ("label", "property", "value")}
    if additional:
        attributes.append(f"data-event-additional='{json.dumps(additional)}'")
    return " ".join(attributes)


def _html(definition: EventDefinition) -> Example:
    return Example("HTML (data-event-* attributes)", "html", f"<button {html_attributes(definition)}>...</button>\n")


def _pytest(definition: EventDefinition) -> Example:
    identifiers = [name for name in _identifiers(definition) if _passed(definition, name)]
    stand_ins = {
        "user": f"    user = SimpleNamespace(id={_IDS['user']})\n",
        "project": (
            f"    project = SimpleNamespace(id={_IDS['project']}, namespace=SimpleNamespace(id={_IDS['namespace']}))\n"
        ),
        "namespace": f"    namespace = SimpleNamespace(id={_IDS['namespace']})\n",
    }
    setup = "".join(stand_ins[name] for name in identifiers)
    arguments = _call_arguments(definition, "            ")
    with_arguments = ", ".join(f"{name}={name}" for name in identifiers)
    properties = _placeholders(definition)
    if properties:
        with_arguments += (", " if with_arguments else "") + f"additional_properties={_python_dict(properties)}"
    call = (
        f'track_internal_event(\n            "{definition.action}",\n{arguments}\n        )'
        if arguments
        else f'track_internal_event("{definition.action}")'
    )
    code = (
        *(["from types import SimpleNamespace\n\n"] if identifiers else []),
        "from otel_internal_events import track_internal_event\n",
        "from otel_internal_events.testing import trigger_internal_events\n\n\n",
        f"def test_{definition.action}_is_tracked():\n",
        setup,
        f'    with trigger_internal_events("{definition.action}").with_({with_arguments}):\n',
        f"        {call}  # or the code under test that tracks it\n",
    )
    return Example("Test (pytest, with our matchers)", "python", "".join(code))


def event_examples(definition: EventDefinition) -> list[Example]:
    """Every snippet for ``definition``, in the order they are printed."""
    return [
        _backend(definition),
        _mixin(definition),
        _decorated(definition),
        _http(definition),
        _browser(definition),
        _html(definition),
        _pytest(definition),
    ]


def examples_text(definition: EventDefinition) -> str:
    """Every snippet for ``definition`` as plain text, each under a ``==> heading`` line."""
    return "\n".join(f"{HEADING_MARKER}{e.title}\n{e.code}" for e in event_examples(definition))


def print_examples(definition: EventDefinition, console: Console | None = None) -> None:
    """Print the snippets: highlighted under headings on a terminal, plain text otherwise."""
    console = console or Console(highlight=False)
    if not console.is_terminal:
        click.echo(examples_text(definition), nl=False)
        return
    console.rule(f"[bold]{definition.action}[/bold]: {definition.description}")
    for example in event_examples(definition):
        console.print(f"\n[bold cyan]{example.title}[/bold cyan]")
        console.print(Syntax(example.code.rstrip("\n"), example.language, background_color="default"))


def _definition(registry: DefinitionRegistry, event: str) -> EventDefinition:
    try:
        return registry.event(event)
    except UnknownEventError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None


@click.command()
@click.argument("event")
@definitions_option
def examples(event: str, paths: tuple[str, ...]) -> None:
    """Print the code that tracks EVENT: backend, mixin, decorator, events API, browser, HTML, test.

    Exits 1 when EVENT is not an internal event of the definitions.
    """
    registry = load_or_exit(find_definition_roots(paths), "no examples printed")
    print_examples(_definition(registry, event))
    sys.stdout.flush()
