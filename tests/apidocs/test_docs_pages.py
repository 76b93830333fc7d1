"""/docs and /redoc over HTTP: every asset from this server, no inline script, a 'self' CSP.

tests/browser renders them in Chromium; these checks need no browser.
"""

from __future__ import annotations

import re

import pytest
from httpx import AsyncClient

SRC = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_pages_load_only_their_own_assets(client: AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = SRC.findall(page.text)
    assert assets and all(url.startswith("/docs/assets/") for url in assets), assets
    assert page.text.count("<script") == page.text.count("<script src=")  # nothing inline
    for url in assets:
        asset = await client.get(url)
        assert asset.status_code == 200 and asset.content, url
        kind = {"js": "javascript", "css": "text/css", "png": "image/png"}[url.rsplit(".", 1)[1]]
        assert kind in asset.headers["content-type"], url


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/assets/swagger-init.js"])
async def test_the_csp_allows_this_server_only(client: AsyncClient, path: str) -> None:
    csp = (await client.get(path)).headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "http" not in csp and "fonts.g" not in csp


async def test_swagger_is_told_where_the_csrf_token_is(client: AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assert 'data-csrf-cookie="orbiter_csrf"' in page
    assert 'data-csrf-header="X-CSRF-Token"' in page
    assert 'data-openapi-url="/openapi.json"' in page


async def test_every_security_scheme_says_how_to_get_its_credential(client: AsyncClient) -> None:
    schemes = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
    assert set(schemes) == {"ApiKey", "BearerToken", "SessionCookie", "DeploymentToken"}
    assert "POST /api/v1/api-keys" in schemes["ApiKey"]["description"]
    assert "POST /api/v1/oauth/device" in schemes["BearerToken"]["description"]
    assert "POST /api/v1/auth/login" in schemes["SessionCookie"]["description"]
    assert "X-CSRF-Token" in schemes["SessionCookie"]["description"]
    # The deploy pipeline's callback authenticates with the deployment's own token.
    assert "`callback_token`" in schemes["DeploymentToken"]["description"]
