"""``otel-internal-events collector-config``: the Collector configs for the definitions, as YAML."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..service import (
    DEFAULT_FILELOG_INCLUDE,
    DEFAULT_GATEWAY_ENDPOINT,
    CollectorVariant,
    filelog_collector_config,
    otlp_collector_config,
    render_collector_config,
)
from ._paths import find_definition_roots, load_or_exit

#: The file each variant is written to when ``--output`` is a folder (as in collector-config/).
FILE_NAMES: dict[CollectorVariant, str] = {"otlp": "gateway-otlp.yaml", "filelog": "filelog.yaml"}


@click.command("collector-config")
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False))
@click.option(
    "--variant",
    type=click.Choice(["otlp", "filelog"]),
    default="otlp",
    show_default=True,
    help="otlp: apps export OTLP to the Collector; filelog: the Collector reads JSON lines from files.",
)
@click.option("--gateway", default=DEFAULT_GATEWAY_ENDPOINT, show_default=True, help="Base URL of the gateway.")
@click.option(
    "--include",
    "include",
    multiple=True,
    metavar="GLOB",
    help=f"Files to read (filelog; repeatable). [default: {', '.join(DEFAULT_FILELOG_INCLUDE)}]",
)
@click.option(
    "--start-at",
    type=click.Choice(["end", "beginning"]),
    default=None,
    help="Where to start reading files found at startup (filelog). [default: end]",
)
@click.option(
    "--encoding",
    type=click.Choice(["proto", "json"]),
    default="proto",
    show_default=True,
    help="OTLP/HTTP body encoding towards the gateway.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=True),
    default=None,
    help=f"File to write, or a folder to write {' or '.join(FILE_NAMES.values())} in. [default: stdout]",
)
def collector_config(
    paths: tuple[str, ...],
    variant: CollectorVariant,
    gateway: str,
    include: tuple[str, ...],
    start_at: str | None,
    encoding: str,
    output: str | None,
) -> None:
    """Write the OpenTelemetry Collector config that carries the defined events to the gateway.

    It keeps only the defined events and, for each, only the attributes its definition declares.
    Regenerate it whenever the definitions change. Exits 1 when the definitions have problems.
    """
    if variant == "otlp" and (include or start_at):
        raise click.UsageError("--include and --start-at apply to --variant filelog only")
    roots = find_definition_roots(paths)
    registry = load_or_exit(roots, "no Collector config written")
    try:
        if variant == "filelog":
            config = filelog_collector_config(
                registry,
                gateway=gateway,
                include=include or DEFAULT_FILELOG_INCLUDE,
                start_at="beginning" if start_at == "beginning" else "end",
                encoding="json" if encoding == "json" else "proto",
            )
        else:
            config = otlp_collector_config(
                registry, gateway=gateway, encoding="json" if encoding == "json" else "proto"
            )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    text = render_collector_config(config, variant=variant, sources=[Path(root).as_posix() for root in roots])
    if output is None:
        click.echo(text, nl=False)
        return
    # An existing folder, or a path written as one ("out/"), gets the variant's usual file name.
    as_folder = Path(output).is_dir() or output.endswith(("/", os.sep))
    target = Path(output) / FILE_NAMES[variant] if as_folder else Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}", err=True)
