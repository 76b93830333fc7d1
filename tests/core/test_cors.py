"""CORS: a browser frontend on a configured origin may call the API with credentials; any
other origin gets no CORS headers at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from httpx import AsyncClient

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.helpers import new_client

FRONTEND = "https://app.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "x-csrf-token",
}


@pytest.fixture
async def cors_client(migrated: Settings) -> AsyncIterator[AsyncClient]:
    app = create_app(migrated.model_copy(update={"cors_origins": [FRONTEND]}))
    async with LifespanManager(app), new_client(app) as client:
        yield client


async def test_a_configured_origin_gets_preflight_and_credentialed_responses(
    cors_client: AsyncClient,
) -> None:
    preflight = await cors_client.options(
        "/api/v1/projects", headers={"Origin": FRONTEND, **PREFLIGHT}
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "x-csrf-token" in preflight.headers["access-control-allow-headers"].lower()
    actual = await cors_client.get("/api/v1/auth/csrf", headers={"Origin": FRONTEND})
    assert actual.status_code == 200
    assert actual.headers["access-control-allow-origin"] == FRONTEND
    assert actual.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in actual.headers["access-control-expose-headers"].lower()


async def test_another_origin_gets_no_cors_headers(cors_client: AsyncClient) -> None:
    preflight = await cors_client.options(
        "/api/v1/projects", headers={"Origin": "https://evil.example", **PREFLIGHT}
    )
    actual = await cors_client.get("/api/v1/auth/csrf", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 400
    for response in (preflight, actual):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


async def test_without_configured_origins_there_is_no_cors(client: AsyncClient) -> None:
    response = await client.get("/api/v1/auth/csrf", headers={"Origin": FRONTEND})
    assert "access-control-allow-origin" not in response.headers
