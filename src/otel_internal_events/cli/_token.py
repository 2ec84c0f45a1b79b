"""``otel-internal-events token``: make, list and revoke tokens of the events API."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import settings_from_env
from ..errors import ConfigurationError
from ..service import new_token, read_tokens


def _default_file() -> str:
    try:
        return settings_from_env().api_tokens_file
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


_FILE = click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The tokens file. [default: OTEL_INTERNAL_EVENTS_API_TOKENS_FILE, else ./api-tokens]",
)


@click.group()
def token() -> None:
    """Tokens of the events API: each acts for one user id; only its SHA-256 is stored."""


@token.command("new")
@click.option("--user", "user", required=True, help="The user id the token tracks events for.")
@click.option("--note", default="", help="A word to tell the token apart later (shown by 'token list').")
@_FILE
def new(user: str, note: str, path: Path | None) -> None:
    """Make a token for a user; print it once (it cannot be shown again)."""
    target = path or Path(_default_file())
    try:
        made = new_token(target, int(user) if user.isdigit() else user, note)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(made)
    click.echo(
        f"stored its SHA-256 for user {user} in {target}; keep the token secret: it is not shown again", err=True
    )


@token.command("list")
@_FILE
def list_tokens(path: Path | None) -> None:
    """List the tokens of the file: the start of each hash, its user, when it was made."""
    target = path or Path(_default_file())
    try:
        entries = read_tokens(target) if target.exists() else {}
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    for entry in entries.values():
        click.echo(f"sha256:{entry.digest[:12]}  user={entry.user_id}  created={entry.created}  {entry.note}".rstrip())
    click.echo(f"{len(entries)} token(s) in {target}", err=True)


@token.command("revoke")
@click.argument("digest_prefix")
@_FILE
def revoke(digest_prefix: str, path: Path | None) -> None:
    """Remove the token whose hash starts with DIGEST_PREFIX (as 'token list' shows it)."""
    target = path or Path(_default_file())
    prefix = digest_prefix.removeprefix("sha256:").lower()
    try:
        entries = read_tokens(target) if target.exists() else {}
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    matches = [d for d in entries if d.startswith(prefix)]
    if len(prefix) < 6 or len(matches) != 1:
        found = "no token" if not matches else f"{len(matches)} tokens"
        raise click.ClickException(f"{found} in {target} with a hash starting {prefix!r} (give at least 6 characters)")
    kept = [line for line in target.read_text("utf-8").splitlines() if not line.startswith(f"sha256:{matches[0]}")]
    target.write_text("\n".join(kept) + "\n", "utf-8")
    user = entries[matches[0]].user_id
    click.echo(f"revoked sha256:{matches[0][:12]} (user {user}); gateways refuse it within a second")
