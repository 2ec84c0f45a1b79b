"""Command group and shared options."""

from __future__ import annotations

import click

from ._codegen import codegen
from ._collector_config import collector_config
from ._demo import demo
from ._examples import examples
from ._monitor import monitor
from ._new import new
from ._report import report
from ._serve import serve
from ._snowplow_micro import snowplow_micro
from ._token import token
from ._validate import validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="otel-internal-events")
def main() -> None:
    """GitLab-style Internal Events on OpenTelemetry: definitions, tracking, metrics."""


main.add_command(validate)
main.add_command(report)
main.add_command(demo)
main.add_command(snowplow_micro)
main.add_command(collector_config)
main.add_command(serve)
main.add_command(token)
main.add_command(new)
main.add_command(examples)
main.add_command(codegen)
main.add_command(monitor)
