"""Outermost ASGI middleware: request id, security headers, the last-resort 500 envelope, and
the access log (one structured line per request or WebSocket, with the route template and the
caller's user id, never headers, secret query values redacted)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar

import structlog
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orbiter.core.errors import envelope
from orbiter.core.logging import redact
from orbiter.core.settings import Settings

logger = logging.getLogger("orbiter.request")
access_log = structlog.stdlib.get_logger("orbiter.access")
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# /docs and /redoc: every asset comes from this server and no script is inline. Styles may be
# inline because Swagger UI and ReDoc (styled-components) write <style> elements at run time.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = str(value.decode("latin-1"))
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        token = request_id_var.set(request_id)
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        outcome = _Outcome()
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, outcome.watch_websocket(send))
            else:
                await self._http(scope, receive, send, request_id, outcome)
        finally:
            outcome.log(scope)
            structlog.contextvars.reset_contextvars(**bound)
            request_id_var.reset(token)

    async def _http(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, outcome: _Outcome
    ) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome.status = message["status"]
                _add_headers(MutableHeaders(scope=message), scope, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            logger.exception(
                "unhandled error on %s %s request_id=%s",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
            if outcome.status is not None:
                raise
            if outage := _outage_message(exc):
                await _send_error(send_with_headers, 503, "SERVICE_UNAVAILABLE", outage, request_id)
            else:
                await _send_error(
                    send_with_headers, 500, "INTERNAL_ERROR", "Internal server error", request_id
                )


class _Outcome:
    """What became of one request, for its access-log line."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.status: int | None = None

    def watch_websocket(self, send: Send) -> Send:
        """Status 101 once accepted; 403 when closed before (what the server answers then)."""

        async def watching(message: Message) -> None:
            kind = message["type"]
            if kind == "websocket.accept":
                self.status = 101
            elif kind == "websocket.close" and self.status is None:
                self.status = 403
            elif kind == "websocket.http.response.start":
                self.status = message["status"]
            await send(message)

        return watching

    def log(self, scope: Scope) -> None:
        duration_ms = round((time.perf_counter() - self.started) * 1000, 2)
        principal = scope.get("state", {}).get("principal")
        user_id = getattr(principal, "user_id", None)
        query = scope.get("query_string", b"").decode("latin-1")
        access_log.info(
            "request",
            method=scope.get("method", "WEBSOCKET"),
            route=route_template(scope),
            path=redact(scope.get("path", "") + (f"?{query}" if query else "")),
            status=self.status if self.status is not None else 500,
            duration_ms=duration_ms,
            user_id=str(user_id) if user_id is not None else None,
            client_ip=scope.get("state", {}).get("client_ip"),
        )


def route_template(scope: Scope) -> str | None:
    """The matched route's full path template (`/api/v1/projects/{project_id}`), or None.

    Included routers keep their routes' paths relative, so the template is rebuilt from the
    request path: each segment holding a path parameter's value becomes `{name}`.
    """
    if scope.get("route") is None:
        return None
    segments = scope.get("path", "").split("/")
    start = 0
    for name, value in (scope.get("path_params") or {}).items():
        for index in range(start, len(segments)):
            if segments[index] == str(value):
                segments[index] = "{" + name + "}"
                start = index + 1
                break
    return "/".join(segments)


def _add_headers(headers: MutableHeaders, scope: Scope, request_id: str) -> None:
    headers["X-Request-ID"] = request_id
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    path = scope.get("path", "")
    csp = DOCS_CSP if path.startswith(DOCS_PATHS) else API_CSP
    headers.setdefault("Content-Security-Policy", csp)
    if scope.get("scheme") == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


def _outage_message(exc: BaseException) -> str | None:
    """What to tell the client when a backing service could not be reached, else None.

    asyncpg raises a bare ConnectionRefusedError when the database is down, so socket-level
    failures count too; other OSErrors (a full disk, say) stay 500s.
    """
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "The database is unavailable"
    if isinstance(exc, OperationalError | InterfaceError):
        return "The database is unavailable"
    if isinstance(exc, ConnectionError | TimeoutError):
        return "A backing service is unreachable"
    return None


async def _send_error(send: Send, status: int, code: str, message: str, request_id: str) -> None:
    body = json.dumps(envelope(code, message, {"request_id": request_id})).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _OriginsOnlyCORS(CORSMiddleware):
    """Starlette's CORS, except that a refused origin gets no CORS headers at all (Starlette
    sends all but Allow-Origin), and a refused preflight's body is the error envelope."""

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if origin is not None and not self.is_allowed_origin(origin=origin):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
            await send(message)
            return
        await super().send(message, send, request_headers)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        return JSONResponse(
            envelope("BAD_REQUEST", bytes(response.body).decode()), status_code=response.status_code
        )


def install_cors(app: FastAPI, settings: Settings) -> None:
    """CORS with credentials for `ORBITER_CORS_ORIGINS` only; nothing when none are set."""
    if not settings.cors_origins:
        return
    app.add_middleware(
        _OriginsOnlyCORS,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            "X-Request-ID",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "Retry-After",
        ],
    )
