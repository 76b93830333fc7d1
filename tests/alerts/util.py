"""Helpers of the alert tests: rules through the API, failed runs through the run engine,
and evaluations with the test's clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from httpx import AsyncClient

from orbiter.alerts.evaluate import Evaluated, evaluate_rules
from orbiter.core.request_stats import RequestStats
from orbiter.runtime.resources import Resources
from tests.helpers import API, SignedIn
from tests.runs.util import start_run, wait_for


async def create_rule(client: AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Runs failing",
        "condition_type": "run_failures",
        "condition_threshold": 2,
        "window_minutes": 10,
        "action_type": "in_app",
        **fields,
    }
    response = await client.post(f"{API}/alerts", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def fail_runs(resources: Resources, user: SignedIn, count: int) -> None:
    """`count` runs of the user's personal project that end `failed`, through the engine."""
    for _ in range(count):
        run_id = await start_run(resources, user, {"do": "fail", "message": "boom"})
        assert (await wait_for(user.api, run_id))["status"] == "failed"


async def evaluate(
    resources: Resources, now: datetime | None = None, stats: RequestStats | None = None
) -> Evaluated:
    return await evaluate_rules(resources, stats or RequestStats(), now=now)


async def listed(client: AsyncClient, path: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}{path}")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
