"""Request bodies: a size cap enforced while reading, a receive timeout, JSON-only JSON routes.

The request middleware (`core.middleware`, outside authentication) wraps `receive` with
`guard_body`. Routing happens before anyone reads a body, so at the first `receive()` the chosen
route is known and, for a JSON route, FastAPI has not parsed, validated or resolved a dependency
(authentication included) yet; a request whose body is never read costs nothing more:

- the cap is `ORBITER_MAX_JSON_BYTES` unless the route is named in `LARGER_BODIES`; a
  `Content-Length` over it is refused before a byte is read, and a body without one is counted
  as it arrives, so no more than the cap (plus one chunk) is ever buffered: 413;
- a route with a pydantic body (a JSON route) refuses any other content type: 415;
- while the body is incomplete each `receive()` waits at most
  `ORBITER_BODY_RECEIVE_TIMEOUT_SECONDS`: 408, with the connection closed. A streamed upload
  sees the error from its body iterator and discards what it wrote (blobs leave no object).

Errors are raised from `receive()` as `AppHTTPException`, which FastAPI's body reader passes
through unchanged and the handlers answer with the envelope; one raised where no handler sees
it is answered by the request middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from email.message import Message as MimeMessage
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope

from orbiter.core.errors import PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from orbiter.core.handlers import AppHTTPException
from orbiter.core.settings import Settings

MIB = 1024**2

# Routes whose bodies may be larger than ORBITER_MAX_JSON_BYTES, by (method, path under /api/v1).
# Reviewed like the public-route allowlist: tests/core/test_body_limits.py checks each exists.
LARGER_BODIES: dict[tuple[str, str], Callable[[Settings], int]] = {
    # Raw bytes streamed to the store; the route checks the same limit itself.
    ("PUT", "/blobs/upload/{hash}"): lambda s: s.max_blob_bytes,
    ("PUT", "/blobs/manifests/{hash}"): lambda s: s.max_manifest_bytes,
    # Up to 500 variables of up to 64 KiB each.
    ("PUT", "/projects/{project_id}/env-vars"): lambda s: max(s.max_json_bytes, 40 * MIB),
    # Whole conversations (and a file to edit) sent by the client.
    ("POST", "/chat"): lambda s: max(s.max_json_bytes, 16 * MIB),
    ("POST", "/chat/morph-chat"): lambda s: max(s.max_json_bytes, 16 * MIB),
    # Files' contents, one or a batch of them (the service checks each file's size too).
    ("POST", "/files"): lambda s: s.files_max_request_bytes,
    ("POST", "/files/content"): lambda s: s.files_max_request_bytes,
    ("POST", "/files/batch"): lambda s: s.files_max_request_bytes,
    # Multipart VCD/FST/GHW files: the largest plan's cap here; the route applies the caller's.
    ("POST", "/waveforms"): lambda s: (
        max(s.waveform_max_bytes_free, s.waveform_max_bytes_pro, s.waveform_max_bytes_team)
        + 64 * 1024
    ),
    # A multipart document upload: the file plus its part headers; the route checks the
    # file's own size against ORBITER_MAX_DOCUMENT_BYTES.
    ("POST", "/knowledge-bases/{kb_id}/documents"): lambda s: s.max_document_bytes + 64 * 1024,
}


def body_limit(settings: Settings, method: str, route: Any) -> int:
    declared = LARGER_BODIES.get((method, getattr(route, "path", "")))
    return declared(settings) if declared else settings.max_json_bytes


def is_json_route(route: Any) -> bool:
    """A route with a pydantic body parameter (form bodies and raw-body routes are not)."""
    if not isinstance(route, APIRoute) or route.body_field is None:
        return False
    return not isinstance(route.body_field.field_info, params.Form)


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or `application/*+json`, with any parameters (charset=utf-8)."""
    parsed = MimeMessage()
    parsed["content-type"] = content_type
    subtype = parsed.get_content_subtype()
    return parsed.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def guard_body(scope: Scope, receive: Receive) -> Receive:
    """`receive` for one HTTP request, checked, capped and timed from its first call."""
    return _GuardedBody(scope, receive).receive


class _GuardedBody:
    """`receive` for one request: the checks at the first call, then counting and timing."""

    _settings: Settings
    _headers: Headers

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self._scope = scope
        self._receive = receive
        self._limit: int | None = None
        self._received = 0
        self._complete = False

    async def receive(self) -> Message:
        if self._complete:  # only the wait for a disconnect is left: never time it out
            return await self._receive()
        if self._limit is None:
            self._settings = self._scope["app"].state.resources.settings
            self._headers = Headers(scope=self._scope)
            self._limit = self._check_before_reading()
        try:
            async with asyncio.timeout(self._settings.body_receive_timeout_seconds):
                message = await self._receive()
        except TimeoutError:
            raise AppHTTPException(
                RequestTimeout(
                    "No part of the request body arrived for "
                    f"{self._settings.body_receive_timeout_seconds:g} seconds",
                    headers={"Connection": "close"},
                )
            ) from None
        self._count(message)
        return message

    def _check_before_reading(self) -> int:
        method, route = self._scope.get("method", ""), self._scope.get("route")
        content_type = self._headers.get("content-type")
        declared = self._declared_length()
        if is_json_route(route) and (
            (content_type and not is_json_media_type(content_type))
            or (not content_type and declared)
        ):
            raise AppHTTPException(
                UnsupportedMediaType(
                    "This route takes a JSON body: send Content-Type: application/json",
                    details={"content_type": content_type},
                )
            )
        limit = body_limit(self._settings, method, route)
        if declared is not None and declared > limit:
            raise AppHTTPException(self._too_large(limit))
        return limit

    def _declared_length(self) -> int | None:
        value = self._headers.get("content-length")
        return int(value) if value is not None and value.isdigit() else None

    def _count(self, message: Message) -> None:
        if message["type"] != "http.request":
            self._complete = True
            return
        self._received += len(message.get("body", b""))
        assert self._limit is not None
        if self._received > self._limit:
            raise AppHTTPException(self._too_large(self._limit))
        if not message.get("more_body", False):
            self._complete = True

    @staticmethod
    def _too_large(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The body is larger than the limit of {limit} bytes for this route",
            details={"max_bytes": limit},
            headers={"Connection": "close"},
        )
