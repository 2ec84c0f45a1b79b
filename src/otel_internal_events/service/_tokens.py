"""Bearer tokens of the events API: made once, stored only as their SHA-256, bound to a user id.

The tokens file has one token per line::

    sha256:<64 hex digits> user=<user id> created=<UTC time> [note=<text>]

``#`` starts a comment. The gateway reads the file when it starts and again when it changes (looked
at once a second, and whenever a token is not known), so a new token works at once and a token
is revoked within a second by deleting its line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError

__all__ = ["TOKEN_PREFIX", "TokenEntry", "TokenStore", "hash_token", "new_token", "read_tokens"]

#: Every token starts with it, so that a leaked one is easy to find in code and logs.
TOKEN_PREFIX = "oiet_"
_LINE = re.compile(r"^sha256:(?P<digest>[0-9a-f]{64})(?P<fields>(?:\s+\S+=\S*)*)\s*$")
_RELOAD_EVERY_S = 1.0
_log = logging.getLogger("otel_internal_events.gateway")


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """One line of the tokens file."""

    digest: str
    user_id: int | str
    created: str = ""
    note: str = ""


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token, as the file stores it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(path: str | os.PathLike[str], user_id: int | str, note: str = "") -> str:
    """Make a token for ``user_id``, add its hash to the file at ``path`` (created readable by
    its owner only), and return the token: the only time it is ever shown."""
    if isinstance(user_id, str) and (not user_id or any(c.isspace() for c in user_id)):
        raise ConfigurationError(f"a user id must be a number or a word without spaces, got {user_id!r}")
    if any(c.isspace() for c in note):
        raise ConfigurationError(f"a token note must be one word (use - or _), got {note!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = f"sha256:{hash_token(token)} user={user_id} created={created}" + (f" note={note}" if note else "")
    target = Path(path)
    if not target.exists():
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        header = "# otel-internal-events API tokens: the SHA-256 of each token and the user it acts for\n"
        target.write_text(header, "utf-8")
    read_tokens(target)  # never append to a file that does not parse
    with target.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
    return token


def read_tokens(path: str | os.PathLike[str]) -> dict[str, TokenEntry]:
    """The entries of a tokens file, by digest; :class:`ConfigurationError` names a bad line."""
    entries: dict[str, TokenEntry] = {}
    for number, raw in enumerate(Path(path).read_text("utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.match(line)
        fields = dict(f.split("=", 1) for f in match.group("fields").split()) if match else {}
        if match is None or not fields.get("user"):
            raise ConfigurationError(
                f"{path}:{number}: expected 'sha256:<64 hex digits> user=<id> created=<time>', got {line[:80]!r}"
            )
        user = fields["user"]
        digest = match.group("digest")
        entries[digest] = TokenEntry(
            digest, int(user) if user.isdigit() else user, fields.get("created", ""), fields.get("note", "")
        )
    return entries


class TokenStore:
    """The tokens file, read again when it changes; :meth:`user_of` answers in O(1)."""

    def __init__(self, path: str | os.PathLike[str], *, reload_every_s: float = _RELOAD_EVERY_S) -> None:
        self.path = Path(path)
        self._reload_every_s = reload_every_s
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._entries: dict[str, TokenEntry] = {}
        self.problem: str | None = None
        self._reload()

    def __len__(self) -> int:
        return len(self._entries)

    def user_of(self, token: str) -> int | str | None:
        """The user id a token acts for; None for an unknown token.

        The file is looked at again at most once a second (a revoked token stops working), and
        whenever a token is not known (a new token works at once).
        """
        digest = hash_token(token)
        if time.monotonic() - self._checked >= self._reload_every_s:
            self._reload()
        entry = self._entries.get(digest)
        if entry is None:
            self._reload()
            entry = self._entries.get(digest)
        return None if entry is None else entry.user_id

    def _reload(self) -> None:
        with self._lock:
            before = self.problem
            self._load()
            if self.problem and self.problem != before:
                _log.warning("events API: %s", self.problem)

    def _load(self) -> None:
        self._checked = time.monotonic()
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._entries, self._stamp = {}, None
            self.problem = f"no tokens file at {self.path}: no personal token is accepted"
            return
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return
        try:
            self._entries = read_tokens(self.path)
            self.problem = None
        except (ConfigurationError, OSError, UnicodeDecodeError) as exc:
            self.problem = f"the tokens file cannot be read, the tokens read before are kept: {exc}"
        self._stamp = stamp
