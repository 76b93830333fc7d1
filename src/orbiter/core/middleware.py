"""Outermost ASGI middleware: request id, security headers, and the last-resort 500 envelope."""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orbiter.core.errors import envelope

logger = logging.getLogger("orbiter.request")
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
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
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
            if started:
                raise
            if outage := _outage_message(exc):
                await _send_error(send_with_headers, 503, "SERVICE_UNAVAILABLE", outage, request_id)
            else:
                await _send_error(
                    send_with_headers, 500, "INTERNAL_ERROR", "Internal server error", request_id
                )
        finally:
            request_id_var.reset(token)


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
