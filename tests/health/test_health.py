"""GET /health: each dependency with its latency; 503 `degraded` naming what failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asgi_lifespan import LifespanManager
from httpx import AsyncClient, Response
from sqlalchemy import text

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.health.conftest import DOWN, migrate_sqlite
from tests.helpers import new_client


async def _health_of(settings: Settings) -> Response:
    app = create_app(settings)
    async with LifespanManager(app), new_client(app) as client:
        return await client.get("/health")


def _degraded(response: Response, failed: str) -> dict[str, Any]:
    assert response.status_code == 503, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "degraded" and body["timestamp"].endswith("Z")
    assert body["checks"][failed]["status"] == "failed" and body["checks"][failed]["error"]
    return body


async def test_health_checks_each_dependency_with_its_latency(
    client: AsyncClient, backend: str
) -> None:
    response = await client.get("/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and body["timestamp"].endswith("Z")
    expected = {"database", "blob_store"} | ({"redis"} if backend == "services" else set())
    assert set(body["checks"]) == expected  # Redis only when configured
    for check in body["checks"].values():
        assert check["status"] == "ok" and check["error"] is None
        assert isinstance(check["latency_ms"], float) and check["latency_ms"] >= 0


async def test_an_unreachable_database_is_degraded(migrated: Settings) -> None:
    url = f"postgresql+asyncpg://nobody@{DOWN}/none"
    body = _degraded(
        await _health_of(migrated.model_copy(update={"database_url": url})), "database"
    )
    assert body["checks"]["blob_store"]["status"] == "ok"


async def test_a_database_behind_the_latest_migration_is_degraded(
    migrated: Settings, tmp_path: Path
) -> None:
    url = migrate_sqlite(tmp_path / "behind.db")
    app = create_app(migrated.model_copy(update={"database_url": url}))
    async with LifespanManager(app), new_client(app) as client:
        async with app.state.resources.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '0002'"))
        response = await client.get("/health")
    body = _degraded(response, "database")
    assert "0002" in body["checks"]["database"]["error"]
    assert "orbiter migrate" in body["checks"]["database"]["error"]


async def test_redis_down_is_degraded_and_names_redis(migrated: Settings) -> None:
    response = await _health_of(migrated.model_copy(update={"redis_url": f"redis://{DOWN}/0"}))
    body = _degraded(response, "redis")
    assert body["checks"]["database"]["status"] == "ok"


async def test_a_failing_blob_store_is_degraded(
    migrated: Settings, broken_blob_store: dict[str, Any]
) -> None:
    body = _degraded(await _health_of(migrated.model_copy(update=broken_blob_store)), "blob_store")
    assert body["checks"]["database"]["status"] == "ok"
