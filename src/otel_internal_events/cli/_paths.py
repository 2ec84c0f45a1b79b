"""Finding the definition folders of the current project."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console

from ..config import ENV_PREFIX
from ..definitions import DefinitionRegistry, load_definitions
from ..errors import DefinitionsInvalidError


def find_definition_roots(paths: tuple[str, ...]) -> tuple[str, ...]:
    """The given paths; else ``OTEL_INTERNAL_EVENTS_DEFINITIONS``; else ``definitions/`` found
    in the working directory or the nearest parent that has one (stopping at a project root)."""
    if paths:
        return paths
    from_env = os.environ.get(ENV_PREFIX + "DEFINITIONS")
    if from_env:
        return tuple(p for p in from_env.split(os.pathsep) if p)
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / "definitions"
        if candidate.is_dir():
            return (os.path.relpath(candidate),)
        if (folder / "pyproject.toml").exists() or (folder / ".git").exists():
            break
    raise click.UsageError(
        "no definitions/ folder found in this project; pass the folder, e.g. "
        "'otel-internal-events validate path/to/definitions'"
    )


def load_or_exit(roots: tuple[str, ...], consequence: str) -> DefinitionRegistry:
    """The registry of ``roots``; else every problem on stderr, ``consequence`` said, exit 1."""
    try:
        return load_definitions(*roots)
    except DefinitionsInvalidError as exc:
        console = Console(stderr=True, highlight=False, soft_wrap=True)
        for error in exc.errors:
            console.print(f"[red]error[/red] {error}", markup=True)
        console.print(f"\n{len(exc.errors)} problem(s) in {', '.join(roots)}: {consequence}")
        raise SystemExit(1) from None


#: ``--definitions DIR`` (repeatable), given to the command as ``paths``; see :func:`find_definition_roots`.
definitions_option = click.option(
    "--definitions",
    "paths",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A definitions folder (repeatable). [default: the project's definitions/]",
)
