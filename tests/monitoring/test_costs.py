"""GET /monitoring/costs: token and cost totals of the LLM calls in the caller's projects."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.helpers import API, browser_for, new_project
from tests.monitoring.util import DAY1, DAY2, USAGE, insert_run


async def _costs(client: AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get(f"{API}/monitoring/costs", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _buckets(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (b["key"], b["tokens_in"], b["tokens_out"], b["cost"], b["spans"]) for b in body["buckets"]
    ]


async def test_costs_by_model_total_the_callers_spans_with_a_null_bucket_for_unpriced(
    resources: Resources, browser: AsyncClient, app: FastAPI
) -> None:
    project = await new_project(browser)
    await insert_run(resources, project, USAGE[:2])
    await insert_run(resources, project, USAGE[2:])
    client, _ = await browser_for(app)
    await insert_run(
        resources, await new_project(client, "Theirs"), [("gpt-4o", "openai", 9, 9, 9.0, DAY1)]
    )

    body = await _costs(browser, group_by="model")
    assert _buckets(body) == [
        ("claude", 50, 5, 0.125, 1),
        ("gpt-4o", 400, 60, 1.75, 2),
        ("homebrew", 7, 3, None, 1),
    ]
    assert body["totals"] == {
        "tokens_in": 457,
        "tokens_out": 68,
        "cost": 1.875,
        "unpriced_spans": 1,
    }
    theirs = await _costs(client, group_by="model")
    await client.aclose()
    assert _buckets(theirs) == [("gpt-4o", 9, 9, 9.0, 1)]


async def test_costs_by_day_and_provider_within_since_and_until(
    resources: Resources, browser: AsyncClient
) -> None:
    project = await new_project(browser)
    await insert_run(resources, project, USAGE)

    by_day = await _costs(browser, group_by="day")
    assert _buckets(by_day) == [
        ("2026-11-02", 100, 20, 0.5, 1),
        ("2026-11-02", 7, 3, None, 1),
        ("2026-11-03", 350, 45, 1.375, 2),
    ]
    second_day = await _costs(
        browser,
        group_by="provider",
        since=DAY2.isoformat(),
        until=(DAY2 + timedelta(minutes=1)).isoformat(),
    )
    assert _buckets(second_day) == [("anthropic", 50, 5, 0.125, 1), ("openai", 300, 40, 1.25, 1)]
    assert _buckets(await _costs(browser, group_by="provider", until=DAY2.isoformat())) == [
        ("local", 7, 3, None, 1),
        ("openai", 100, 20, 0.5, 1),
    ]


async def test_costs_by_agent_and_workflow_count_only_that_kind_of_run(
    resources: Resources, browser: AsyncClient
) -> None:
    project = await new_project(browser)
    agent, workflow = uuid.uuid4(), uuid.uuid4()
    await insert_run(resources, project, USAGE[:1], kind="agent", target_id=agent)
    await insert_run(resources, project, USAGE[1:2], kind="workflow", target_id=workflow)

    assert _buckets(await _costs(browser, group_by="agent")) == [(str(agent), 100, 20, 0.5, 1)]
    assert _buckets(await _costs(browser, group_by="workflow")) == [
        (str(workflow), 300, 40, 1.25, 1)
    ]
    bad = await browser.get(f"{API}/monitoring/costs", params={"group_by": "week"})
    assert bad.status_code == 422
