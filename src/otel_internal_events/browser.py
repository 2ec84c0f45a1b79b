"""What a web application needs for the browser client (``clients/js``): the page context it
renders, the short-lived page token in it, and the client's script.

A page token lets the page's scripts post events to the events API for the signed-in user
without a personal token in the page and without cookies (so a cross-site request cannot use
it: there is no ambient credential to forge a request with)::

    oiep_<base64url(user id and its type, expiry, nonce)>.<base64url(HMAC-SHA256(secret, ...))>

The application renders it with :func:`page_context_tag`; the gateway checks it with
:func:`verify_page_token` against the same secret (``OTEL_INTERNAL_EVENTS_BROWSER_SECRET``).
A token names its user and an expiry time and nothing else: it can only track events, as that
user, until it expires (an hour by default; the page gets a new one with each render).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from functools import cache
from pathlib import Path
from typing import Any

from .errors import ConfigurationError, PageTokenError, TrackingError
from .tracking import identifier_of, project_namespace

__all__ = [
    "CONTEXT_ELEMENT_ID",
    "DEFAULT_ENDPOINT",
    "PAGE_TOKEN_PREFIX",
    "SCRIPT_PATH",
    "page_context",
    "page_context_tag",
    "page_token",
    "script",
    "script_digest",
    "script_url",
    "verify_page_token",
]

PAGE_TOKEN_PREFIX = "oiep_"
#: The id of the ``<script type="application/json">`` element the browser client reads.
CONTEXT_ELEMENT_ID = "otel-internal-events-context"
DEFAULT_ENDPOINT = "/api/v4/usage_data/track_events"
DEFAULT_TTL_S = 3600
#: Where the gateway serves the browser client by its stable name (cached for a few minutes).
SCRIPT_PATH = "/assets/internal_events.js"
_MIN_SECRET_BYTES = 16
_DOMAIN = b"otel-internal-events page token v2\n"
_DIGITS = re.compile(r"[0-9]+")
_INTEGER = re.compile(r"-?[0-9]+")
_SCRIPT = "internal_events.js"


def page_token(user: Any, secret: str, *, ttl_s: int = DEFAULT_TTL_S, now_s: float | None = None) -> str:
    """A token for ``user`` (an object with an id, an id, or None for an anonymous visitor)
    that expires ``ttl_s`` seconds from now. Each token is new (a random nonce): two anonymous
    pages never share one, nor its rate limit."""
    key = _key(secret)
    if ttl_s <= 0:
        raise ConfigurationError(f"a page token's lifetime must be positive, got {ttl_s}")
    identifier = None if user is None else _identifier("user", user)
    # The id's type goes with it: the string id "0042" is not the number 42.
    user_field = "a" if identifier is None else (f"i{identifier}" if type(identifier) is int else f"s{identifier}")
    expires = int((time.time() if now_s is None else now_s) + ttl_s)
    payload = f"{user_field}\n{expires}\n{secrets.token_hex(8)}".encode()
    return f"{PAGE_TOKEN_PREFIX}{_b64(payload)}.{_b64(_sign(key, payload))}"


def verify_page_token(token: str, secret: str, *, now_s: float | None = None) -> int | str | None:
    """The user id a page token was made for (None: an anonymous visitor).

    Raises :class:`~otel_internal_events.errors.PageTokenError` for a token that is not a
    page token, is not spelt exactly as it was made, was not signed with ``secret``, or has
    expired.
    """
    key = _key(secret)
    if not token.startswith(PAGE_TOKEN_PREFIX):
        raise PageTokenError("not a page token")
    encoded, _, signature = token[len(PAGE_TOKEN_PREFIX) :].partition(".")
    try:
        payload, given = _unb64(encoded), _unb64(signature)
    except (binascii.Error, ValueError):
        raise PageTokenError("a malformed page token") from None
    if _b64(payload) != encoded or _b64(given) != signature:  # one spelling per token
        raise PageTokenError("a malformed page token")
    if not hmac.compare_digest(given, _sign(key, payload)):
        raise PageTokenError("a page token not signed by this server")
    fields = payload.decode("utf-8", "replace").split("\n")
    if len(fields) != 3 or not _DIGITS.fullmatch(fields[1]) or fields[0][:1] not in ("a", "i", "s"):
        raise PageTokenError("a malformed page token")  # signed by an older format
    if int(fields[1]) <= (time.time() if now_s is None else now_s):
        raise PageTokenError("an expired page token: render the page again for a new one")
    kind, user_id = fields[0][0], fields[0][1:]
    if kind == "a":
        return None
    if kind == "i":
        if not _INTEGER.fullmatch(user_id):
            raise PageTokenError("a malformed page token")
        return int(user_id)
    return user_id


def page_context(
    *,
    user: Any = None,
    project: Any = None,
    namespace: Any = None,
    secret: str,
    ttl_s: int = DEFAULT_TTL_S,
    endpoint: str = DEFAULT_ENDPOINT,
    send_anonymous: bool = False,
    respect_dnt: bool = False,
    now_s: float | None = None,
) -> dict[str, Any]:
    """What the browser client reads from the page: the ids of the page's user, project and
    namespace (a project's namespace when none is given, as in tracking calls), where to send
    events, and a page token. An anonymous page (no user) gets no token unless
    ``send_anonymous``: its events are not sent, as in GitLab."""
    project_id = None if project is None else _identifier("project", project)
    namespace_id = (
        _identifier("namespace", namespace)
        if namespace is not None
        else (project_namespace("page", project) if project is not None else None)
    )
    context: dict[str, Any] = {
        "endpoint": endpoint,
        "user_id": None if user is None else _identifier("user", user),
        "namespace_id": namespace_id,
        "project_id": project_id,
        "send_anonymous": send_anonymous,
        "respect_dnt": respect_dnt,
    }
    if user is not None or send_anonymous:
        context["token"] = page_token(user, secret, ttl_s=ttl_s, now_s=now_s)
    return context


def page_context_tag(**context: Any) -> str:
    """:func:`page_context` as the HTML element the client reads, safe to put in any page:
    ``<``, ``>`` and ``&`` are escaped inside the JSON so nothing in it can close the element."""
    text = json.dumps(page_context(**context), separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{CONTEXT_ELEMENT_ID}">{text}</script>'


@cache
def script() -> bytes:
    """The browser client's source (``clients/js/internal_events.js``), as served."""
    return _script_path().read_bytes()


@cache
def script_digest() -> str:
    """The first 16 hex digits of the script's SHA-256: its content-addressed name."""
    return hashlib.sha256(script()).hexdigest()[:16]


def script_url() -> str:
    """Where the gateway serves this version of the client by its content (cached for good)."""
    return f"/assets/internal_events.{script_digest()}.js"


def _script_path() -> Path:
    packaged = Path(__file__).resolve().parent / "assets" / _SCRIPT  # inside a wheel
    if packaged.is_file():
        return packaged
    source_tree = Path(__file__).resolve().parents[2] / "clients" / "js" / _SCRIPT
    if source_tree.is_file():
        return source_tree
    raise ConfigurationError(f"the browser client's script is not installed (looked for {packaged})")


def _identifier(name: str, value: Any) -> int | str | None:
    try:
        return identifier_of("page", name, value)
    except TrackingError as exc:
        raise ConfigurationError(f"page context: {exc}") from None


def _key(secret: str) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else b""
    if len(key) < _MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"the browser secret must be at least {_MIN_SECRET_BYTES} bytes "
            "(set OTEL_INTERNAL_EVENTS_BROWSER_SECRET to a long random string)"
        )
    return key


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text:
        raise ValueError("empty")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
