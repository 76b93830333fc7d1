"""GET /metrics (when enabled): Prometheus text with request counts and latencies by route
template and status, requests in flight and the database pool; optionally behind a token."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.helpers import assert_error, new_client


@pytest.fixture
async def metered(migrated: Settings) -> AsyncIterator[AsyncClient]:
    app = create_app(migrated.model_copy(update={"metrics_enabled": True}))
    async with LifespanManager(app), new_client(app) as client:
        yield client


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_metrics_are_off_unless_enabled(client: AsyncClient) -> None:
    assert_error(await client.get("/metrics"), 404, "RESOURCE_NOT_FOUND")


async def test_requests_are_counted_and_timed_by_route_template_and_status(
    metered: AsyncClient,
) -> None:
    project = f"/api/v1/projects/{uuid.uuid4()}"
    for path in ("/health", "/health", project, "/nowhere"):
        await metered.get(path)
    response = await metered.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    count = "orbiter_http_requests_total"
    assert _value(samples, count, method="GET", route="/health", status="200") == 2
    templated = {"method": "GET", "route": "/api/v1/projects/{project_id}", "status": "401"}
    assert _value(samples, count, **templated) == 1
    assert _value(samples, count, method="GET", route="unmatched", status="404") == 1
    latency = "orbiter_http_request_duration_seconds"
    assert _value(samples, f"{latency}_count", **templated) == 1
    assert _value(samples, f"{latency}_bucket", le="+Inf", **templated) == 1
    assert _value(samples, "orbiter_http_requests_in_flight") == 0
    assert str(project.rsplit("/", 1)[1]) not in response.text  # ids never become labels
    again = _samples((await metered.get("/metrics")).text)
    routes = {dict(labels).get("route") for (_, labels) in again}
    assert "/health" in routes and "/metrics" not in routes  # scrapes are not counted


async def test_the_database_pool_is_reported(metered: AsyncClient, backend: str) -> None:
    await metered.get("/health")
    samples = _samples((await metered.get("/metrics")).text)
    size = _value(samples, "orbiter_db_pool_size")
    assert size is not None and size > 0
    assert _value(samples, "orbiter_db_pool_checked_out") == 0


async def test_each_app_has_its_own_registry(metered: AsyncClient, migrated: Settings) -> None:
    other = create_app(migrated.model_copy(update={"metrics_enabled": True}))
    async with LifespanManager(other), new_client(other) as client:
        await client.get("/health")
        await metered.get("/health")
        await metered.get("/health")
        mine = _samples((await client.get("/metrics")).text)
    count = "orbiter_http_requests_total"
    assert _value(mine, count, method="GET", route="/health", status="200") == 1


async def test_a_metrics_token_is_required_when_configured(migrated: Settings) -> None:
    update = {"metrics_enabled": True, "metrics_token": "scrape-secret"}
    app: FastAPI = create_app(migrated.model_copy(update=update))
    async with LifespanManager(app), new_client(app) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert_error(missing, 401, "UNAUTHORIZED")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert_error(wrong, 401, "UNAUTHORIZED")
    assert right.status_code == 200 and "orbiter_http_requests_in_flight" in right.text
