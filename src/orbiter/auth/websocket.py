"""The caller of a WebSocket (API.md §1.2): the session cookie with its `Origin` checked, or
`?token=<bearer token>` (browsers cannot set headers on a WebSocket); header credentials
(`X-API-Key`, `Authorization: Bearer`) work too for non-browser clients.

The HTTP authentication middleware does not see WebSockets, so routes call this themselves.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.websockets import WebSocket

from orbiter.auth.dependencies import allowed_origins
from orbiter.auth.principal import AuthFailure, Principal
from orbiter.auth.resolve import resolve_principal
from orbiter.core.errors import Forbidden, Unauthorized
from orbiter.runtime.resources import Resources


def _allowed_origins(websocket: WebSocket, resources: Resources) -> set[str]:
    scheme = "https" if websocket.url.scheme in ("wss", "https") else "http"
    return allowed_origins(f"{scheme}://{websocket.url.netloc}", resources.settings)


async def websocket_principal(websocket: WebSocket, resources: Resources) -> Principal:
    """Unauthorized without valid credentials; Forbidden for a cookie from a foreign origin."""
    token = websocket.query_params.get("token")
    if token is not None:
        if not token.strip():
            raise Unauthorized("Empty token")
        outcome = await resolve_principal(
            Headers({"authorization": f"Bearer {token.strip()}"}), {}, resources
        )
    else:
        outcome = await resolve_principal(websocket.headers, websocket.cookies, resources)
    if isinstance(outcome, AuthFailure):
        raise Unauthorized(outcome.message)
    if outcome is None:
        raise Unauthorized("Authentication required: the session cookie or ?token=<bearer token>")
    if outcome.method == "session":
        # Cross-site WebSocket hijacking: a foreign page's socket would carry the cookie.
        origin = websocket.headers.get("origin")
        if origin and origin.rstrip("/") not in _allowed_origins(websocket, resources):
            raise Forbidden("Cross-origin WebSocket refused", details={"origin": origin})
    if outcome.method == "api_key" and not outcome.has_scope("read"):
        raise Forbidden("This API key lacks the 'read' scope")
    return outcome
