"""Prometheus metrics: one registry per app, served at `GET /metrics` when enabled.

`ORBITER_METRICS_ENABLED=true` turns it on; with `ORBITER_METRICS_TOKEN` set, scrapes must send
`Authorization: Bearer <token>`. The request middleware (`core.middleware`) records every HTTP
request here and answers `/metrics` before authentication and rate limits (a scrape never
touches the database); a scrape is not itself counted.

Adding a series for a domain: give `Metrics` one attribute per series, created in `__init__`
with `registry=self.registry` and named `orbiter_<domain>_<what>_<unit>` (`_total` for
counters), labels bounded (never an id); the app's instance is `app.state.metrics` (None when
disabled), so callers do `if metrics: metrics.<series>.inc()`. A value read at scrape time
(like the pool below) is a `Collector` registered in `__init__`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterator

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.types import Receive, Scope, Send

from orbiter.core.errors import Unauthorized
from orbiter.core.handlers import error_response
from orbiter.core.settings import Settings

logger = logging.getLogger("orbiter.metrics")

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"  # the route label of requests no route matched (404s)


class Metrics:
    def __init__(self, engine: Callable[[], AsyncEngine | None], token: str = "") -> None:
        self.token = token
        self.engine = engine  # the app's engine once started, else None
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.http_requests = Counter(
            "orbiter_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "orbiter_http_request_duration_seconds",
            "Time from receiving a request to the end of its response.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_in_flight = Gauge(
            "orbiter_http_requests_in_flight",
            "HTTP requests being served right now.",
            registry=self.registry,
        )
        self.registry.register(_PoolCollector(engine))
        # Read before each scrape (async, e.g. from the database); see `refresh_before_scrape`.
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    def refresh_before_scrape(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Run `refresh` before each scrape renders: for collectors whose values come from an
        async source (they keep what it read; a failed refresh keeps the previous values)."""
        self._refreshers.append(refresh)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """One answered request; `route` is its template, None when no route matched."""
        labels = (method, route or UNMATCHED, str(status))
        self.http_requests.labels(*labels).inc()
        self.http_duration.labels(*labels).observe(seconds)

    @staticmethod
    def is_scrape(scope: Scope) -> bool:
        return scope["path"] == METRICS_PATH and scope["method"] in ("GET", "HEAD")

    async def scrape(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI answer to `GET /metrics`: 401 without the token when one is configured."""
        if self.token and not self._authorized(scope):
            refused = Unauthorized(
                "/metrics needs the bearer token in ORBITER_METRICS_TOKEN",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await error_response(refused)(scope, receive, send)
            return
        for refresh in self._refreshers:
            try:
                await refresh()
            except Exception:
                logger.warning(
                    "a /metrics refresh failed; serving its previous values", exc_info=True
                )
        body = self.render()
        headers = [
            (b"content-type", CONTENT_TYPE_LATEST.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and hmac.compare_digest(
                    token.strip().encode(), self.token.encode()
                )
        return False


class _PoolCollector(Collector):
    """The SQLAlchemy pool of the app's engine, read at scrape time."""

    def __init__(self, engine: Callable[[], AsyncEngine | None]) -> None:
        self._engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        engine = self._engine()
        pool = engine.pool if engine is not None else None
        if not isinstance(pool, QueuePool):
            return  # before start-up, or a pool that does not count (NullPool)
        for name, help_text, value in (
            ("orbiter_db_pool_size", "Connections the pool keeps open.", pool.size()),
            ("orbiter_db_pool_checked_out", "Connections in use.", pool.checkedout()),
        ):
            yield GaugeMetricFamily(name, help_text, value=value)


def install_metrics(app: FastAPI, settings: Settings) -> Metrics | None:
    """When enabled, the app's registry (also `app.state.metrics`), for the request middleware
    to record into and to serve at `/metrics`; else None."""
    app.state.metrics = None
    if not settings.metrics_enabled:
        return None

    def engine() -> AsyncEngine | None:
        resources = getattr(app.state, "resources", None)
        return resources.engine if resources is not None else None

    disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` twin of every series (process-wide)
    metrics = Metrics(engine, settings.metrics_token)
    app.state.metrics = metrics
    return metrics
