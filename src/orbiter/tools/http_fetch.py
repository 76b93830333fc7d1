"""One outbound HTTP request for a tool (the `http_request` built-in and custom http tools).

Through the SSRF guard (`core.outbound`): the URL must be http(s) to a public address (unless
the operator allows private ones), checked again at connect time after DNS resolution;
redirects are not followed and proxy variables are ignored. Bounded: the whole exchange must
end within the timeout, and at most `MAX_RESPONSE_BYTES` of the body are read (the rest is
dropped and the output says `truncated`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx2

from orbiter.core.errors import AppError
from orbiter.core.outbound import check_url, guarded_client
from orbiter.core.settings import Settings
from orbiter.tools.base import ToolFailed

MAX_RESPONSE_BYTES = 256 * 1024
DEFAULT_TIMEOUT_SECONDS = 15.0
MAX_TIMEOUT_SECONDS = 30.0
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
UPSTREAM = "UPSTREAM_ERROR"
SHOWN_HEADERS = ("content-type", "content-length", "location", "retry-after", "etag")


async def fetch(
    settings: Settings,
    *,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: Any = None,
    seconds: float = DEFAULT_TIMEOUT_SECONDS,
    every_header: bool = False,
) -> dict[str, Any]:
    """`{status, ok, headers, body, json?, truncated}`; transport failures raise ToolFailed.

    `body`: a string is sent as is, anything else as JSON; None sends no body. `headers` of
    the answer: the main ones (`SHOWN_HEADERS`), or with `every_header` all of them.
    """
    try:
        await check_url(url, settings, field="url")
    except AppError as exc:
        raise ToolFailed(exc.message) from exc
    seconds = min(max(seconds, 1.0), MAX_TIMEOUT_SECONDS)
    content, sent_headers = _body(body, dict(headers or {}))
    try:
        async with asyncio.timeout(seconds):
            return await _exchange(
                settings, method, url, sent_headers, content, seconds, every_header
            )
    except TimeoutError as exc:
        raise ToolFailed(
            f"{method} {url} did not finish within {seconds:g} s", code=UPSTREAM
        ) from exc
    except AppError as exc:  # the guard refused the address it connected to
        raise ToolFailed(exc.message, code=exc.code) from exc
    except httpx2.HTTPError as exc:
        raise ToolFailed(
            f"{method} {url} failed: {exc or type(exc).__name__}", code=UPSTREAM
        ) from exc


def _body(body: Any, headers: dict[str, str]) -> tuple[bytes | None, dict[str, str]]:
    if body is None:
        return None, headers
    if isinstance(body, str):
        return body.encode(), headers
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(body).encode(), headers


async def _exchange(
    settings: Settings,
    method: str,
    url: str,
    headers: dict[str, str],
    content: bytes | None,
    seconds: float,
    every_header: bool,
) -> dict[str, Any]:
    client = guarded_client(settings, timeout=httpx2.Timeout(seconds, connect=min(seconds, 5.0)))
    async with client, client.stream(method, url, headers=headers, content=content) as response:
        chunks: list[bytes] = []
        size = 0
        truncated = False
        async for chunk in response.aiter_bytes():
            room = MAX_RESPONSE_BYTES - size
            if len(chunk) > room:
                chunks.append(chunk[:room])
                truncated = True
                break
            chunks.append(chunk)
            size += len(chunk)
        return _output(response, b"".join(chunks), truncated, every_header)


def _output(
    response: httpx2.Response, raw: bytes, truncated: bool, every_header: bool
) -> dict[str, Any]:
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    shown = response.headers.keys() if every_header else SHOWN_HEADERS
    output: dict[str, Any] = {
        "status": response.status_code,
        "ok": response.is_success,
        "headers": {k: response.headers[k] for k in shown if k in response.headers},
        "body": text,
        "truncated": truncated,
    }
    if not truncated and "json" in response.headers.get("content-type", ""):
        with contextlib.suppress(ValueError):
            output["json"] = json.loads(text)
    return output
