"""create_app(): middleware, exception handlers, routers, and the lifespan's resources."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from orbiter.alerts.metrics import install_alert_metrics
from orbiter.api import include_api
from orbiter.apidocs import install_api_docs
from orbiter.auth.middleware import AuthenticationMiddleware
from orbiter.blobs.access import set_manifest_cache_bytes
from orbiter.blobs.reclaim import discard_stale_uploads
from orbiter.coding import use_host
from orbiter.conversations.orphans import stop_orphaned_replies_at_startup
from orbiter.conversations.replies import finish_running
from orbiter.conversations.router import STREAM_PATH, conversation_stream
from orbiter.core.handlers import install_exception_handlers
from orbiter.core.logging import configure_logging
from orbiter.core.metrics import install_metrics
from orbiter.core.middleware import RequestContextMiddleware, install_cors
from orbiter.core.request_stats import create_request_stats
from orbiter.core.settings import Settings, get_settings
from orbiter.health.router import router as health_router
from orbiter.health.startup import start_up
from orbiter.monitoring.metrics import install_monitoring_metrics
from orbiter.oauth.router import pages as oauth_pages
from orbiter.openapi import TAGS, operation_id
from orbiter.runtime.resources import Resources
from orbiter.sandboxes.host import SandboxHost
from orbiter.worker import Background

DESCRIPTION = """Self-hostable backend for AI-assisted software work.

Authenticate with a session cookie (`POST /api/v1/auth/login`, then send `X-CSRF-Token` on
writes), an `X-API-Key` (`POST /api/v1/api-keys`), or a bearer token from the device flow
(`/api/v1/oauth/device`). Errors share one envelope: `{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    stats = create_request_stats(settings.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = Resources.create(settings)
        app.state.resources = resources
        background: Background | None = None
        sandboxes = app.state.sandboxes = SandboxHost.create(settings)
        use_host(sandboxes)  # runs executed by this process (coding tasks) use it too
        set_manifest_cache_bytes(settings.manifest_cache_bytes)
        try:
            await start_up(resources)  # refuses an unmigrated database; logs the summary
            await discard_stale_uploads(resources.blobs)  # left by a process killed mid-upload
            await stop_orphaned_replies_at_startup(
                resources.sessionmaker
            )  # left by a killed process
            # What start-up allocated lives as long as the process: keep it out of every later
            # full garbage collection, which would otherwise walk that whole heap mid-request.
            # Embedded, this process runs the jobs and the periodic work too (worker.py).
            if resources.queue.in_process:
                background = Background(resources, stats=stats)
                await background.start()
            sandboxes.start(resources.queue, resources.sessionmaker)  # reaps, then ticks
            gc.collect()
            gc.freeze()
            yield
        finally:
            await sandboxes.stop()
            if background is not None:
                await background.stop()
            # Replies still streaming are stored `incomplete` while the database is still open.
            await finish_running()
            await resources.close()
            await stats.close()

    app = FastAPI(
        title="Orbiter",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_tags=TAGS,
        docs_url=None,  # /docs and /redoc: install_api_docs, assets served offline
        redoc_url=None,
        # No redirect from /path/ to /path: Starlette builds its Location from the Host header.
        redirect_slashes=False,
    )
    install_exception_handlers(app)
    # Added innermost first: requests pass RequestContext (request id, headers, body guard,
    # access log, metrics and /metrics) -> CORS -> Authentication -> routes.
    app.add_middleware(AuthenticationMiddleware)
    install_cors(app, settings)
    app.state.request_stats = stats  # GET /api/v1/monitoring/health reads it
    app.add_middleware(
        RequestContextMiddleware,
        metrics=install_alert_metrics(install_monitoring_metrics(install_metrics(app, settings))),
        stats=stats,
    )
    install_api_docs(app)
    app.include_router(health_router)
    app.include_router(oauth_pages)
    include_api(app)
    app.add_api_websocket_route(
        STREAM_PATH, conversation_stream
    )  # GET /api/v1/conversations/{id}/stream
    return app


app = create_app()
