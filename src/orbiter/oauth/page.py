"""The small HTML page at /device where a signed-in user approves a CLI.

It shows who is signed in (with a way to sign out), and which client asked before the user
approves (`POST /api/v1/oauth/device/lookup`). Script and style are inline with a per-response
nonce; the page itself is `templates/device.html`.
"""

from __future__ import annotations

import html
import secrets
from importlib.resources import files

from fastapi.responses import HTMLResponse

TEMPLATE = files("orbiter.oauth").joinpath("templates/device.html").read_text(encoding="utf-8")


def device_page(user_code: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    body = TEMPLATE.replace("__NONCE__", nonce).replace(
        "__USER_CODE__", html.escape(user_code[:16], quote=True)
    )
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store"})
