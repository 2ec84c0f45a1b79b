"""``otel-internal-events serve``: run the gateway (OTLP/HTTP receiver and events API)."""

from __future__ import annotations

import os

import click

from .. import _redis
from ..config import ENV_PREFIX, settings_from_env
from ..errors import ConfigurationError, InternalEventsError
from ._paths import find_definition_roots, load_or_exit


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4318, show_default=True, type=click.IntRange(0, 65535), help="4318 is OTLP/HTTP's.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="Processes serving requests.")
@click.option("--access-log/--no-access-log", default=False, show_default=True, help="Log every request.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def serve(paths: tuple[str, ...], host: str, port: int, workers: int, access_log: bool, log_level: str) -> None:
    """Run the gateway: OTLP/HTTP at /v1/logs and /v1/traces, GitLab's events API at
    /api/v4/usage_data/track_event(s), health at /-/health and /-/ready, API docs at /docs.

    Configured like the library (OTEL_INTERNAL_EVENTS_*: Redis, key prefix, strict mode,
    Snowplow), plus the gateway's own settings (tokens file, rate limit, body limits). With no
    Redis URL, an embedded server starts, shared by all workers.
    """
    try:
        import uvicorn

        from ..service import create_app
    except ImportError:
        raise click.ClickException(
            "the gateway needs the service extra: pip install 'otel-internal-events[service]'"
        ) from None
    roots = find_definition_roots(paths)
    try:
        settings = settings_from_env(definitions=roots)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    load_or_exit(roots, "the gateway was not started")
    os.environ[ENV_PREFIX + "DEFINITIONS"] = os.pathsep.join(roots)  # for every worker
    redis_url = settings.redis_url
    if redis_url is None:
        try:
            redis_url = _redis.embedded_server().url  # one server for every worker, stopped at exit
        except InternalEventsError as exc:
            raise click.ClickException(str(exc)) from None
        os.environ[ENV_PREFIX + "REDIS_URL"] = redis_url
        settings = settings.replace(redis_url=redis_url)
        click.echo(f"counters in an embedded Redis-compatible server at {redis_url} (kept in memory only)")
    click.echo(f"gateway on http://{host}:{port}: OTLP /v1/logs /v1/traces, events API /api/v4/usage_data, docs /docs")
    options = {"host": host, "port": port, "log_level": log_level, "access_log": access_log}
    if workers == 1:
        uvicorn.run(create_app(settings, owns_process=True), **options)  # type: ignore[arg-type]
    else:
        factory = "otel_internal_events.service:app_from_environment"
        uvicorn.run(factory, factory=True, workers=workers, **options)  # type: ignore[arg-type]
