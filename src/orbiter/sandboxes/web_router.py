"""/api/v1/sandbox/{id}/web/{path}: a web template's server, proxied (HTTP only).

An addition to the contract. Every method is passed on with its query and body (streamed
both ways); the caller's credentials (cookie, Authorization, X-API-Key, the CSRF token) and
hop-by-hop headers are not passed to the sandbox, and the server's `Set-Cookie` and hop-by-hop
headers are not passed back. The page is served as a sandboxed document
(`Content-Security-Policy: sandbox ...` without `allow-same-origin`): its scripts run in an
opaque origin, so the generated code cannot act as the caller on this API's origin.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from orbiter.auth.browser_sessions import CSRF_HEADER
from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.errors import UpstreamError
from orbiter.runtime.deps import DbSession
from orbiter.sandbox.web_exchange import WebRequest, not_running, socket_client, too_large
from orbiter.sandboxes import service
from orbiter.sandboxes.host import SandboxHost
from orbiter.sandboxes.web import require_web

router = APIRouter()  # tagged `sandbox` by the router that includes it

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
NOT_FORWARDED = HOP_BY_HOP | {"host", "cookie", "authorization", "x-api-key", CSRF_HEADER.lower()}
NOT_RETURNED = HOP_BY_HOP | {"set-cookie", "content-security-policy"}
SANDBOXED_PAGE = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads"
PATH = "/sandbox/{sandbox_id}/web/{path:path}"


def _headers(headers: list[tuple[bytes, bytes]], dropped: frozenset[str]) -> list[tuple[str, str]]:
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.decode("latin-1").split(",")
    }
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in headers
        if name.decode("latin-1").lower() not in dropped | named
    ]


async def proxy_web(
    sandbox_id: uuid.UUID, path: str, request: Request, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """Pass the request to the sandbox's server (a web template) and send its answer back.
    404 for a sandbox that is not the caller's or runs no server; 503 when its server is not
    running; 502 when it does not answer. On the host that holds the sandbox both bodies are
    streamed; from another replica the exchange is relayed whole, and a body over
    `ORBITER_SANDBOX_WEB_RELAY_MAX_BYTES` is 413 (the request's) or 502 (the answer's)."""
    sandbox = await service.get_sandbox(db, user_id=principal.user_id, sandbox_id=sandbox_id)
    require_web(sandbox.template)
    host: SandboxHost = request.app.state.sandboxes
    target = "/" + path + (f"?{request.url.query}" if request.url.query else "")
    headers = _headers(request.headers.raw, NOT_FORWARDED)
    if sandbox.host == host.name:
        return await _stream(host, sandbox_id, request, target, headers)
    body = await _read_capped(request, host.settings.sandbox_web_relay_max_bytes)
    answer = await host.fetch_on(
        sandbox.host, sandbox_id, WebRequest(request.method, target, headers, body)
    )
    return Response(answer.body, status_code=answer.status, headers=_returned(answer.headers))


async def _stream(
    host: SandboxHost,
    sandbox_id: uuid.UUID,
    request: Request,
    target: str,
    headers: list[tuple[str, str]],
) -> Response:
    client = socket_client(host.server_socket(sandbox_id), host.settings.sandbox_command_seconds)
    upstream = client.build_request(
        request.method,
        target,
        headers=headers,
        content=request.stream() if request.method not in ("GET", "HEAD") else None,
    )
    try:
        answer = await client.send(upstream, stream=True)
    except httpx.ConnectError as exc:
        await client.aclose()
        raise not_running() from exc
    except httpx.HTTPError as exc:
        await client.aclose()
        raise UpstreamError(f"The sandbox's server did not answer: {type(exc).__name__}") from exc
    return StreamingResponse(
        _body(answer),
        status_code=answer.status_code,
        headers=_returned(answer.headers.multi_items()),
        background=BackgroundTask(_close, answer, client),
    )


def _returned(headers: list[tuple[str, str]]) -> dict[str, str]:
    """The server's headers as passed back: without its cookies and hop-by-hop headers, and
    with the page sandboxed."""
    kept = _headers([(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers], NOT_RETURNED)
    return _merge([*kept, ("content-security-policy", SANDBOXED_PAGE)])


async def _read_capped(request: Request, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large("request", max_bytes)
    return bytes(body)


async def _body(answer: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    except httpx.HTTPError:
        return  # the server went away mid-answer: the body ends here


async def _close(answer: httpx.Response, client: httpx.AsyncClient) -> None:
    await answer.aclose()
    await client.aclose()


def _merge(headers: list[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _route(method: str) -> Callable[..., Awaitable[Response]]:
    async def handler(
        sandbox_id: uuid.UUID,
        path: str,
        request: Request,
        principal: CurrentPrincipal,
        db: DbSession,
    ) -> Response:
        return await proxy_web(sandbox_id, path, request, principal, db)

    handler.__doc__ = proxy_web.__doc__
    return handler


for _method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
    router.add_api_route(
        PATH,
        _route(_method),
        methods=[_method],
        name=f"proxy_web_{_method.lower()}",
        summary=f"{_method} on a web sandbox's server",
        response_class=StreamingResponse,
        include_in_schema=True,
    )
