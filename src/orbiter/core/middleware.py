"""The outermost ASGI middleware, one layer for what every request needs: the request id,
security headers, the request body's guard (`body_limits`), the last-resort 500 envelope, and
what became of the request: one access-log line (the route template and the caller's user id,
never headers, secret query values redacted) and, when enabled, the metrics.

One layer, because each layer that wraps `send` costs every request a call per message."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

import structlog
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orbiter.core.body_limits import guard_body
from orbiter.core.errors import envelope
from orbiter.core.handlers import AppHTTPException, error_response
from orbiter.core.logging import ACCESS_LOGGER, redact, request_id_var
from orbiter.core.metrics import Metrics
from orbiter.core.request_stats import RequestStats
from orbiter.core.settings import Settings

logger = logging.getLogger("orbiter.request")

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# /docs and /redoc: every asset comes from this server and no script is inline. Styles may be
# inline because Swagger UI and ReDoc (styled-components) write <style> elements at run time.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=63072000; includeSubDomains"
# Added to every response unless the route set its own (raw ASGI header pairs, built once).
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = str(value.decode("latin-1"))
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, metrics: Metrics | None = None, stats: RequestStats | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.stats = stats
        # Bound once, after create_app configured logging: a lazy proxy re-binds on every call.
        self.access_log = structlog.stdlib.get_logger(ACCESS_LOGGER).bind()
        self.access_logger = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        token = request_id_var.set(request_id)
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        outcome = _Outcome(request_id)
        try:
            if kind == "websocket":
                await self.app(scope, receive, outcome.watch_websocket(send))
            elif self.metrics is None:
                outcome.timed = True
                await self._http(self.app, scope, receive, send, outcome)
            elif self.metrics.is_scrape(scope):  # before authentication; not itself counted
                await self._http(self.metrics.scrape, scope, receive, send, outcome)
            else:
                outcome.counted = outcome.timed = True
                self.metrics.http_in_flight.inc()
                try:
                    await self._http(self.app, scope, receive, send, outcome)
                finally:
                    self.metrics.http_in_flight.dec()
        finally:
            self._record(scope, outcome)
            structlog.contextvars.reset_contextvars(**bound)
            request_id_var.reset(token)

    async def _http(
        self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, outcome: _Outcome
    ) -> None:
        send_with_headers = outcome.watch_http(scope, send)
        try:
            await app(scope, guard_body(scope, receive), send_with_headers)
        except Exception as exc:
            if isinstance(exc, AppHTTPException) and outcome.status is None:
                # The body guard's error, raised from `receive` where no handler saw it.
                await error_response(exc.error)(scope, receive, send_with_headers)
                return
            logger.exception(
                "unhandled error on %s %s request_id=%s",
                scope.get("method"),
                scope.get("path"),
                outcome.request_id,
            )
            if outcome.status is not None:
                raise
            if outage := _outage_message(exc):
                await _send_error(send_with_headers, 503, "SERVICE_UNAVAILABLE", outage, outcome)
            else:
                await _send_error(
                    send_with_headers, 500, "INTERNAL_ERROR", "Internal server error", outcome
                )

    def _record(self, scope: Scope, outcome: _Outcome) -> None:
        """The access-log line and the metrics; nothing is built for what is off."""
        log = self.access_logger.isEnabledFor(logging.INFO)
        if not log and not outcome.timed:
            return
        duration = time.perf_counter() - outcome.started
        if outcome.timed and self.stats is not None:
            self.stats.record(outcome.code, duration)
        if not log and not outcome.counted:
            return
        route = route_template(scope)
        if outcome.counted and self.metrics is not None:
            self.metrics.observe(scope["method"], route, outcome.code, duration)
        if not log:
            return
        principal = scope["state"].get("principal")
        user_id = getattr(principal, "user_id", None)
        query = scope.get("query_string", b"").decode("latin-1")
        self.access_log.info(
            "request",
            method=scope.get("method", "WEBSOCKET"),
            route=route,
            path=redact(scope.get("path", "") + (f"?{query}" if query else "")),
            status=outcome.code,
            duration_ms=round(duration * 1000, 2),
            user_id=str(user_id) if user_id is not None else None,
            client_ip=scope["state"].get("client_ip"),
        )


class _Outcome:
    """What became of one request: its status, for the access log and the metrics."""

    __slots__ = ("counted", "request_id", "started", "status", "timed")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.started = time.perf_counter()
        self.status: int | None = None
        self.counted = False  # an HTTP request the metrics count (all but scrapes)
        self.timed = False  # an HTTP request the request stats count (all but scrapes)

    @property
    def code(self) -> int:
        return self.status if self.status is not None else 500

    def watch_http(self, scope: Scope, send: Send) -> Send:
        """`send`, recording the status and adding the request id and security headers."""

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                _add_headers(message, scope, self.request_id)
            await send(message)

        return send_with_headers

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


def route_template(scope: Scope) -> str | None:
    """The matched route's full path template (`/api/v1/projects/{project_id}`), or None.

    Included routers keep their routes' paths relative, so the template is rebuilt from the
    request path: each segment holding a path parameter's value becomes `{name}`.
    """
    if scope.get("route") is None:
        return None
    path: str = scope.get("path", "")
    params = scope.get("path_params")
    if not params:
        return path
    segments = path.split("/")
    start = 0
    for name, value in params.items():
        for index in range(start, len(segments)):
            if segments[index] == str(value):
                segments[index] = "{" + name + "}"
                start = index + 1
                break
    return "/".join(segments)


def _add_headers(message: Message, scope: Scope, request_id: str) -> None:
    # A copy: the list may be the response object's own, which must not grow per send.
    headers = message["headers"] = list(message.get("headers", ()))
    present = {name.lower() for name, _ in headers}
    if b"x-request-id" in present:
        headers[:] = [(n, v) for n, v in headers if n.lower() != b"x-request-id"]
    headers.append((b"x-request-id", request_id.encode("latin-1")))
    for name, value in _SECURITY_HEADERS:
        if name not in present:
            headers.append((name, value))
    if b"content-security-policy" not in present:
        csp = DOCS_CSP if scope.get("path", "").startswith(DOCS_PATHS) else API_CSP
        headers.append((b"content-security-policy", csp.encode()))
    if scope.get("scheme") == "https" and b"strict-transport-security" not in present:
        headers.append((b"strict-transport-security", HSTS.encode()))


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


async def _send_error(send: Send, status: int, code: str, message: str, outcome: _Outcome) -> None:
    body = json.dumps(envelope(code, message, {"request_id": outcome.request_id})).encode()
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
