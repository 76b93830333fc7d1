"""GET /monitoring/health: each backing service probed now, and the recent traffic: request
rate, percent of 5xx and p50/p95 latency, across replicas sharing Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import AsyncClient, Response

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.helpers import API, PASSWORD, new_client, unique_email

SERVICES = {"database", "redis", "blob_store", "queue"}


class Counted:
    """A signed-in client on its own app instance, counting the responses it got."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.answered = 0

        async def count(response: Response) -> None:
            self.answered += 1

        client.event_hooks["response"].append(count)

    async def sign_in(self, email: str) -> None:
        await self.client.post(
            f"{API}/auth/register", json={"email": email, "password": PASSWORD, "name": "Ops"}
        )
        login = await self.client.post(
            f"{API}/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        self.client.headers["X-CSRF-Token"] = login.json()["csrf_token"]

    async def health(self) -> dict[str, Any]:
        response = await self.client.get(f"{API}/monitoring/health")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def _instance(settings: Settings) -> FastAPI:
    app = create_app(settings)

    async def explode() -> None:
        raise RuntimeError("forced failure")

    async def slow() -> None:
        await asyncio.sleep(0.6)

    app.add_api_route("/explode", explode)
    app.add_api_route("/slow", slow)
    return app


@asynccontextmanager
async def _instances(settings: Settings, count: int) -> AsyncIterator[list[Counted]]:
    async with AsyncExitStack() as stack:
        made = []
        for _ in range(count):
            app = _instance(settings)
            await stack.enter_async_context(LifespanManager(app))
            made.append(Counted(await stack.enter_async_context(new_client(app))))
        yield made


def _windows(body: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {w["minutes"]: w for w in body["traffic"]}


async def test_health_probes_each_service_and_counts_requests_errors_and_latency(
    migrated: Settings, backend: str
) -> None:
    async with _instances(migrated, 1) as (ops,):
        await ops.sign_in(unique_email("ops"))
        for _ in range(15):
            assert (await ops.client.get("/health")).status_code == 200
        assert (await ops.client.get("/explode")).status_code == 500
        for _ in range(2):
            assert (await ops.client.get("/slow")).status_code == 200
        assert ops.answered == 20
        body = await ops.health()

    assert set(body["services"]) == SERVICES
    for name, check in body["services"].items():
        if name == "redis" and backend == "embedded":
            assert check == {"status": "not_configured", "latency_ms": None, "error": None}
        else:
            assert check["status"] == "ok", (name, check)
            assert check["latency_ms"] >= 0
    assert body["status"] == "ok"
    assert body["shared"] is (backend == "services")
    windows = _windows(body)
    assert set(windows) == {1, 5, 15}
    for minutes in (5, 15):  # exact whatever minute boundary the test crossed
        window = windows[minutes]
        assert window["requests"] == 20
        assert window["error_rate"] == 5.0  # 1 of 20 answered 500
        assert window["requests_per_second"] == round(20 / (minutes * 60), 4)
        assert window["p95_ms"] == 1000.0  # the two slow ones (600 ms) are the top 10%
        assert window["p50_ms"] is not None and window["p50_ms"] <= 250.0
    assert windows[1]["requests"] <= 20


async def test_instances_sharing_redis_see_each_others_requests(
    migrated: Settings, backend: str
) -> None:
    async with _instances(migrated, 2) as (first, second):
        await first.sign_in(unique_email("first"))
        await second.sign_in(unique_email("second"))
        for _ in range(5):
            await first.client.get("/health")
        await first.client.get("/explode")
        seen_by_first = _windows(await first.health())[15]
        seen_by_second = _windows(await second.health())[15]

    assert seen_by_first["requests"] >= first.answered - 1  # all but the health call itself
    if backend == "embedded":  # no Redis: each process counts its own
        assert seen_by_first["requests"] == first.answered - 1
        assert seen_by_second["requests"] == second.answered - 1
        return
    both = first.answered + second.answered - 1  # all but the second's health call
    # the first's health call may not be flushed yet (at most once a second per process)
    assert both - 1 <= seen_by_second["requests"] <= both
    assert seen_by_second["error_rate"] > 0  # the first's forced 500
