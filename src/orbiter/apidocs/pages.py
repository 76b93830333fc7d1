"""The /docs and /redoc pages: no CDN, no inline script, assets under /docs/assets.

Swagger UI and ReDoc come from the `fastapi-offline` package's static folder (it ships
`swagger-ui-bundle.js`, `swagger-ui.css`, `redoc.standalone.js` and a favicon); the small
start-up scripts are this package's own `static/` files, configured through `data-*`
attributes so that the pages need no inline script and the CSP can stay `'self'` only.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from orbiter.auth.browser_sessions import CSRF_COOKIE, CSRF_HEADER

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Swagger UI</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js" data-openapi-url="{openapi}"
 data-csrf-cookie="{csrf_cookie}" data-csrf-header="{csrf_header}"></script>
</body></html>
"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" type="image/png" href="{assets}/favicon.png">
<link rel="stylesheet" href="{assets}/redoc.css">
</head><body><div id="redoc"></div>
<script src="{assets}/redoc.standalone.js"></script>
<script src="{assets}/redoc-init.js" data-openapi-url="{openapi}"></script>
</body></html>
"""


def _page(template: str, app: FastAPI, request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    values = {
        "title": app.title,
        "assets": root + ASSETS_PATH,
        "openapi": root + (app.openapi_url or "/openapi.json"),
        "csrf_cookie": CSRF_COOKIE,
        "csrf_header": CSRF_HEADER,
    }
    return HTMLResponse(template.format(**{k: escape(v, quote=True) for k, v in values.items()}))


def install_api_docs(app: FastAPI) -> None:
    """Add /docs, /redoc and their assets; create the app with `docs_url=None, redoc_url=None`."""
    pages = APIRouter(include_in_schema=False)

    @pages.get(DOCS_PATH, response_class=HTMLResponse)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return _page(_SWAGGER, app, request)

    @pages.get(REDOC_PATH, response_class=HTMLResponse)
    async def redoc(request: Request) -> HTMLResponse:
        return _page(_REDOC, app, request)

    app.include_router(pages)
    assets = StaticFiles(packages=[("orbiter.apidocs", "static"), ("fastapi_offline", "static")])
    app.mount(ASSETS_PATH, assets, name="api-docs-assets")
