"""create_app(): middleware, exception handlers, routers, and the lifespan's resources."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from orbiter.api import api_router
from orbiter.auth.middleware import AuthenticationMiddleware
from orbiter.conversations.orphans import stop_orphaned_replies_at_startup
from orbiter.conversations.replies import finish_running
from orbiter.conversations.router import STREAM_PATH, conversation_stream
from orbiter.core.handlers import install_exception_handlers
from orbiter.core.middleware import RequestContextMiddleware
from orbiter.core.settings import Settings, get_settings
from orbiter.health.router import router as health_router
from orbiter.oauth.router import pages as oauth_pages
from orbiter.runtime.resources import Resources

DESCRIPTION = """Self-hostable backend for AI-assisted software work.

Authenticate with a session cookie (`POST /api/v1/auth/login`, then send `X-CSRF-Token` on
writes), an `X-API-Key` (`POST /api/v1/api-keys`), or a bearer token from the device flow
(`/api/v1/oauth/device`). Errors share one envelope: `{"error": {"code", "message", "details"}}`.
"""


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = Resources.create(settings)
        app.state.resources = resources
        await stop_orphaned_replies_at_startup(resources.sessionmaker)  # left by a killed process
        try:
            yield
        finally:
            # Replies still streaming are stored `incomplete` while the database is still open.
            await finish_running()
            await resources.close()

    app = FastAPI(
        title="Orbiter",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    install_exception_handlers(app)
    # Added innermost first: requests pass RequestContext -> CORS -> Authentication -> routes.
    app.add_middleware(AuthenticationMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
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
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health_router)
    app.include_router(oauth_pages)
    app.include_router(api_router)
    app.add_api_websocket_route(
        STREAM_PATH, conversation_stream
    )  # GET /api/v1/conversations/{id}/stream
    return app


app = create_app()
