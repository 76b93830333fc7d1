"""One HTTP exchange with a sandbox's web server, whole (not streamed): what a replica that
does not hold the sandbox relays to the host that does (relay.py), as a JSON payload.

The body each way is capped (`max_bytes`): a larger request is refused before it is sent,
a larger answer is refused rather than cut, so a relayed page is never silently truncated.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from orbiter.core.errors import PayloadTooLarge, ServiceUnavailable, UpstreamError


@dataclass(frozen=True)
class WebRequest:
    method: str
    target: str  # the path and query, e.g. /a/b?x=1
    headers: list[tuple[str, str]]
    body: bytes

    def to_payload(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "target": self.target,
            "headers": [list(pair) for pair in self.headers],
            "body": base64.b64encode(self.body).decode(),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> WebRequest:
        return cls(
            method=str(data["method"]),
            target=str(data["target"]),
            headers=[(str(name), str(value)) for name, value in data["headers"]],
            body=base64.b64decode(data["body"]),
        )


@dataclass(frozen=True)
class WebAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def to_payload(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": [list(pair) for pair in self.headers],
            "body": base64.b64encode(self.body).decode(),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> WebAnswer:
        return cls(
            status=int(data["status"]),
            headers=[(str(name), str(value)) for name, value in data["headers"]],
            body=base64.b64decode(data["body"]),
        )


def socket_client(socket_path: Path, timeout: float) -> httpx.AsyncClient:
    """An httpx client whose requests go to the server behind `socket_path`."""
    transport = httpx.AsyncHTTPTransport(uds=str(socket_path))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://sandbox",
        timeout=httpx.Timeout(timeout, connect=10.0),
    )


async def exchange(
    socket_path: Path, request: WebRequest, *, max_bytes: int, read_seconds: float
) -> WebAnswer:
    """Send `request` to the server behind `socket_path` and read its whole answer."""
    if len(request.body) > max_bytes:
        raise too_large("request", max_bytes)
    async with socket_client(socket_path, read_seconds) as client:
        try:
            async with client.stream(
                request.method,
                request.target,
                headers=request.headers,
                content=request.body if request.method not in ("GET", "HEAD") else None,
            ) as answer:
                body = bytearray()
                async for chunk in answer.aiter_raw():
                    body += chunk
                    if len(body) > max_bytes:
                        raise too_large("answer", max_bytes)
        except httpx.ConnectError as exc:
            raise not_running() from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"The sandbox's server did not answer: {type(exc).__name__}"
            ) from exc
    return WebAnswer(answer.status_code, list(answer.headers.multi_items()), bytes(body))


def not_running() -> ServiceUnavailable:
    return ServiceUnavailable(
        "The sandbox's server is not running (it exited or its host restarted)"
    )


def too_large(what: str, max_bytes: int) -> PayloadTooLarge | UpstreamError:
    message = (
        f"The {what} body is over {max_bytes} bytes, the most a web request to a sandbox "
        "held by another replica may carry (ORBITER_SANDBOX_WEB_RELAY_MAX_BYTES)"
    )
    if what == "request":
        return PayloadTooLarge(message, details={"max_bytes": max_bytes})
    return UpstreamError(message, details={"max_bytes": max_bytes})
