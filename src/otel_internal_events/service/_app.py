"""The gateway's ASGI app (FastAPI): the OTLP/HTTP receiver, the events API, health checks.

Every request's work (decoding, checking, the Redis round trip) runs on a worker thread, a few
at a time; the event loop only reads bodies and answers. When more than
``gateway_max_pending`` requests are in progress or waiting, new ones get ``503`` with
``Retry-After`` at once, so a busy gateway pushes back on the Collector (which retries) instead
of queueing without bound.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run time,
# and they name dependencies local to create_app.
import gc
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..browser import PAGE_TOKEN_PREFIX, SCRIPT_PATH, script, script_digest, verify_page_token
from ..config import Settings, settings_from_env
from ..errors import PageTokenError
from ._gateway import ApiEvent, Gateway, GatewayUnavailable, Outcome
from ._otlp import (
    JSON,
    BodyTooLargeError,
    OtlpDecodeError,
    UnsupportedMediaTypeError,
    decode_logs,
    decode_spans,
    export_response,
    media_type,
    read_body,
    status_body,
)
from ._rate_limit import RateLimiter
from ._tokens import TokenStore, hash_token

__all__ = ["MAX_API_EVENTS", "app_from_environment", "create_app"]

_log = logging.getLogger("otel_internal_events.gateway")
#: Events in one ``track_events`` request, as GitLab's API allows.
MAX_API_EVENTS = 50
_WORKER_THREADS = 4
_API_PREFIX = "/api/v4/usage_data"
_SHORT_CACHE = "public, max-age=300"
_LONG_CACHE = "public, max-age=31536000, immutable"
_IDEMPOTENCY = (
    "A key of the client's choosing for this request: the same key sent again with the same token "
    "(a retry after a lost answer) is not counted again, within the dedup window."
)


class TrackEventRequest(BaseModel):
    """One event, as GitLab's ``POST /api/v4/usage_data/track_event`` takes it."""

    model_config = ConfigDict(extra="ignore")

    event: str = Field(min_length=1, description="The event name, as defined in the event's YAML file.")
    namespace_id: int | None = Field(default=None, description="The id of the namespace (group) the event is in.")
    project_id: int | None = Field(default=None, description="The id of the project the event is in.")
    additional_properties: dict[str, Any] = Field(
        default_factory=dict,
        description="Properties the event's definition declares: label, property, value, and custom ones.",
    )
    send_to_snowplow: bool = Field(default=False, description="Also send the event to Snowplow.")
    category: str | None = Field(
        default=None, max_length=200, description="The Snowplow category (the browser client's `trackEvent` takes one)."
    )


class TrackEventsRequest(BaseModel):
    """Up to 50 events, as GitLab's ``POST /api/v4/usage_data/track_events`` takes them."""

    model_config = ConfigDict(extra="ignore")

    events: list[TrackEventRequest] = Field(max_length=MAX_API_EVENTS, description="At most 50 events.")


class TrackResult(BaseModel):
    """What became of the events of a request."""

    accepted: int = Field(description="Events counted.")
    rejected: int = Field(description="Events not counted: unknown, or invalid in strict mode.")
    problems: list[str] = Field(description="What was wrong (an event with a dropped property is still accepted).")


class ErrorBody(BaseModel):
    """A refused request: ``error`` says why; ``errors`` names each field at fault."""

    error: str
    errors: list[dict[str, str]] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Caller:
    """Who a request acts for: the user id (None: an anonymous page), the key its rate limit
    and its idempotency keys are kept under, and an idempotency key sent in the body (a beacon
    cannot send headers)."""

    user_id: int | str | None
    key: str
    idempotency_key: str | None = None


class _Pending:
    """Requests in progress or waiting for a worker thread, up to a bound."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.count = 0


def create_app(
    settings: Settings | None = None, *, gateway: Gateway | None = None, owns_process: bool = False
) -> FastAPI:
    """The gateway app. It builds its :class:`Gateway` from ``settings`` (default: the
    environment) when it starts, and closes it when it stops; a given ``gateway`` is used as it
    is and left open. ``owns_process`` (``serve`` sets it): the process serves only this app,
    so what start-up built is frozen out of the garbage collector's way (``gc.freeze``)."""
    settings = settings or (gateway.settings if gateway is not None else settings_from_env())
    limiter = anyio.CapacityLimiter(_WORKER_THREADS)
    pending = _Pending(settings.gateway_max_pending)
    tokens = TokenStore(settings.api_tokens_file)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        own = gateway is None
        built = gateway if gateway is not None else await anyio.to_thread.run_sync(Gateway, settings)
        state["gateway"] = built
        state["rate"] = RateLimiter(built.redis, settings.api_rate_limit, settings.key_prefix)
        if owns_process:
            # What start-up built lives as long as the process: out of the collector's way, so
            # that a full collection does not walk the registry and the app every few thousand
            # events. Only in a process of our own: it would freeze a host application's heap too.
            gc.collect()
            gc.freeze()
        _log.info("gateway ready: %d events, %d metrics", len(built.registry.events), len(built.registry.metrics))
        try:
            yield
        finally:
            if own:
                await anyio.to_thread.run_sync(built.close)

    app = FastAPI(
        title="otel-internal-events gateway",
        summary="GitLab-compatible events API and OTLP/HTTP receiver for internal events.",
        version=_version(),
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )

    async def work(function: Callable[..., Outcome], *args: Any) -> Outcome:
        if pending.count >= pending.bound:
            raise GatewayUnavailable("the gateway is busy", retry_after_s=1)
        pending.count += 1
        try:
            return await anyio.to_thread.run_sync(function, *args, limiter=limiter)
        finally:
            pending.count -= 1

    # --- OTLP/HTTP ----------------------------------------------------------------------------

    def otlp_handler(signal: str, decode: Callable[[bytes, str], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def receive(request: Request) -> Response:
            try:
                kind = media_type(request.headers.get("content-type"))
            except UnsupportedMediaTypeError as exc:
                return _otlp_error(415, str(exc), JSON)
            try:
                body = await _read(request, settings.otlp_max_body_bytes)
                encoding = request.headers.get("content-encoding")

                def process() -> Outcome:
                    content = read_body(body, encoding, settings.otlp_max_body_bytes)
                    records = decode(content, kind)
                    # The same body sent again (its answer was lost) is the same batch: counted once.
                    # Only when every record has its time: two bodies of timeless records may be
                    # two sendings of events that happened twice.
                    timed = all(record.timestamp_ns for record in records)
                    batch_id = hashlib.sha256(content).hexdigest()[:32] if timed else None
                    return state["gateway"].accept_records(records, batch_id)  # type: ignore[no-any-return]

                outcome = await work(process)
            except OtlpDecodeError as exc:
                return _otlp_error(400, str(exc), kind)
            except BodyTooLargeError as exc:
                return _otlp_error(413, str(exc), kind)
            except UnsupportedMediaTypeError as exc:
                return _otlp_error(415, str(exc), kind)
            except GatewayUnavailable as exc:
                return _otlp_error(503, str(exc), kind, exc.retry_after_s)
            body = export_response(signal, kind, outcome.rejected, outcome.summary())
            return Response(body, media_type=kind)

        return receive

    app.add_api_route("/v1/logs", otlp_handler("logs", decode_logs), methods=["POST"], include_in_schema=False)
    app.add_api_route("/v1/traces", otlp_handler("traces", decode_spans), methods=["POST"], include_in_schema=False)

    # --- events API -----------------------------------------------------------------------------

    async def api_user(request: Request) -> _Caller:
        """Who the request's token acts for; 401 without a valid one.

        A personal token (``Authorization: Bearer`` or ``PRIVATE-TOKEN``), or a browser page
        token: in the header, or in the body's ``token`` field when the page sent a beacon."""
        token = _bearer(request)
        beacon: dict[str, Any] = {}
        if token is None:
            beacon = await _beacon_fields(request)
            token = beacon.get("token")
        if token is not None and token.startswith(PAGE_TOKEN_PREFIX) and settings.browser_secret:
            try:
                user_id = verify_page_token(token, settings.browser_secret, now_s=settings.clock() / 1e9)
            except PageTokenError as exc:
                raise _ApiRefusal(401, f"401 Unauthorized: {exc}") from None
            # A signed-in user's pages share the user's limit; an anonymous page has its own.
            key = f"page-user:{user_id}" if user_id is not None else f"page:{hash_token(token)}"
            return _Caller(user_id, key, beacon.get("idempotency_key"))
        user = None if token is None or beacon else tokens.user_of(token)
        if user is None or token is None:
            raise _ApiRefusal(401, "401 Unauthorized: a valid token is required (Authorization: Bearer <token>)")
        return _Caller(user, hash_token(token))

    async def track(caller: _Caller, events: list[TrackEventRequest], idempotency_key: str | None) -> JSONResponse:
        idempotency_key = idempotency_key or caller.idempotency_key
        key = caller.key
        batch_id = hashlib.sha256(f"{key}:{idempotency_key}".encode()).hexdigest()[:32] if idempotency_key else None
        gate: RateLimiter = state["rate"]
        requested = [
            ApiEvent(e.event, e.namespace_id, e.project_id, e.additional_properties, e.send_to_snowplow, e.category)
            for e in events
        ]

        def process() -> Outcome:
            wait = gate.take(key, len(requested), settings.clock() / 1e9)
            if wait:
                raise _ApiRefusal(
                    429, f"rate limit of {gate.limit} events per minute for this token reached; retry in {wait} s", wait
                )
            return state["gateway"].accept_api_events(caller.user_id, requested, batch_id)  # type: ignore[no-any-return]

        try:
            outcome = await work(process)
        except GatewayUnavailable as exc:
            raise _ApiRefusal(503, str(exc), exc.retry_after_s) from None
        result = TrackResult(accepted=outcome.accepted, rejected=outcome.rejected, problems=outcome.problems)
        if outcome.rejected and state["gateway"].checker.strict:
            return JSONResponse(
                {"error": outcome.problems[0] if outcome.problems else "rejected", **result.model_dump()},
                status_code=422,
            )
        return JSONResponse(result.model_dump())

    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody, "description": "Malformed request; `errors` names each field."},
        401: {"model": ErrorBody, "description": "No valid token."},
        413: {"model": ErrorBody, "description": "The body is over the size limit."},
        422: {"model": TrackResult, "description": "Strict mode: an event is invalid; nothing was counted."},
        429: {"model": ErrorBody, "description": "The token's rate limit is reached; see Retry-After."},
        503: {"model": ErrorBody, "description": "Redis is not reachable or the gateway is busy; see Retry-After."},
    }

    @app.post(f"{_API_PREFIX}/track_event", response_model=TrackResult, responses=responses, tags=["events"])
    async def track_event(
        body: TrackEventRequest,
        user: Annotated[_Caller, Depends(api_user)],
        idempotency_key: Annotated[str | None, Header(max_length=200, description=_IDEMPOTENCY)] = None,
    ) -> JSONResponse:
        """Track one event for the token's user (GitLab's ``track_event``)."""
        return await track(user, [body], idempotency_key)

    @app.post(f"{_API_PREFIX}/track_events", response_model=TrackResult, responses=responses, tags=["events"])
    async def track_events(
        body: TrackEventsRequest,
        user: Annotated[_Caller, Depends(api_user)],
        idempotency_key: Annotated[str | None, Header(max_length=200, description=_IDEMPOTENCY)] = None,
    ) -> JSONResponse:
        """Track up to 50 events for the token's user (GitLab's ``track_events``)."""
        return await track(user, body.events, idempotency_key)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_path(e["loc"]), "message": _message(e)} for e in exc.errors()]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        if any(e["type"] == "too_long" and tuple(e["loc"][-1:]) == ("events",) for e in exc.errors()):
            error = f"Maximum {MAX_API_EVENTS} events allowed in one request."
        else:
            error = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return JSONResponse({"error": error, "errors": errors}, status_code=400)

    @app.exception_handler(_ApiRefusal)
    async def refused(_request: Request, exc: _ApiRefusal) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="otel-internal-events"'
        return JSONResponse({"error": exc.message, "errors": []}, status_code=exc.status, headers=headers)

    # --- the browser client -------------------------------------------------------------------------

    def serve_script(cache_control: str) -> Response:
        return Response(
            script(),
            media_type="text/javascript",
            headers={"Cache-Control": cache_control, "ETag": f'"{script_digest()}"'},
        )

    @app.get(SCRIPT_PATH, include_in_schema=False)
    async def browser_script() -> Response:
        """The browser client by its stable name (cached for a few minutes)."""
        return serve_script(_SHORT_CACHE)

    @app.get("/assets/internal_events.{digest}.js", include_in_schema=False)
    async def browser_script_by_digest(digest: str) -> Response:
        """The browser client by its content (cached for good); another digest is not found."""
        if digest != script_digest():
            return JSONResponse({"error": f"no such script version: {digest}", "errors": []}, status_code=404)
        return serve_script(_LONG_CACHE)

    # --- health -----------------------------------------------------------------------------------

    @app.get("/-/health", tags=["health"])
    async def health() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/-/ready", tags=["health"], responses={503: {"description": "Not ready; `reason` says why."}})
    async def ready() -> JSONResponse:
        """Ready for events: definitions loaded and Redis reachable."""
        built: Gateway | None = state.get("gateway")
        if built is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        reason = await anyio.to_thread.run_sync(built.ready, limiter=limiter)
        if reason is not None:
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        registry = built.registry
        return JSONResponse(
            {"status": "ready", "events": len(registry.events), "metrics": len(registry.metrics), "tokens": len(tokens)}
        )

    app.add_middleware(_BodyLimit, prefix=_API_PREFIX, max_bytes=settings.api_max_body_bytes)
    if settings.api_cors_origins:
        # Pages of another origin: they send the page token in a header, never a cookie.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            allow_credentials=False,
            max_age=600,
        )
    return app


def app_from_environment() -> FastAPI:
    """The app configured from ``OTEL_INTERNAL_EVENTS_*`` (the factory ``serve --workers`` runs)."""
    return create_app(settings_from_env(), owns_process=True)


class _ApiRefusal(Exception):
    def __init__(self, status: int, message: str, retry_after_s: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


class _BodyLimit:
    """Answers 413 for a request under ``prefix`` whose body is over ``max_bytes``, before the
    app reads it (declared length first, then what actually arrives)."""

    def __init__(self, app: Any, prefix: str, max_bytes: int) -> None:
        self.app = app
        self.prefix = prefix
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                response = JSONResponse(
                    {"error": f"the body is over the limit of {self.max_bytes} bytes", "errors": []}, status_code=413
                )
                await response(scope, receive, send)
                return
        body = b"".join(chunks)
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _read(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLargeError(f"the body is {declared} bytes, over the limit of {max_bytes}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLargeError(f"the body is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _otlp_error(status: int, message: str, kind: str, retry_after_s: int = 0) -> Response:
    code = {400: 3, 413: 8, 415: 3, 503: 14}.get(status, 2)  # google.rpc.Code of each answer
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s else None
    return Response(status_body(code, message, kind), status_code=status, media_type=kind, headers=headers)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    private = request.headers.get("private-token", "").strip()  # GitLab's other header
    return private or None


async def _beacon_fields(request: Request) -> dict[str, Any]:
    """``token`` and ``idempotency_key`` from a JSON body (a beacon carries them there)."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {
        name: value
        for name in ("token", "idempotency_key")
        if isinstance(value := body.get(name), str) and 0 < len(value) <= 1000
    }


def _field_path(location: Any) -> str:
    path = ""
    for part in location:
        if part == "body":
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(error: Any) -> str:
    if error.get("type") == "json_invalid":
        return f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
    return str(error.get("msg", "invalid"))


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("otel-internal-events")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"
