"""Helpers for agent tests: a priced provider on the fakes, agents, and waiting for runs."""

from __future__ import annotations

import asyncio
from typing import Any

from httpx import AsyncClient

from tests.fakes.llm_servers import FakeLLM, provider_body, turn
from tests.helpers import API

# USD per million tokens for the fakes' models, as provider price overrides.
PRICES = {"input": 2.0, "output": 8.0}
STOPPED = {"succeeded", "failed", "cancelled", "awaiting_input"}


def model_for(kind: str) -> str:
    return "claude-echo" if kind == "anthropic" else "echo"


async def priced_provider(
    client: AsyncClient, fake: FakeLLM, kind: str = "openai"
) -> dict[str, Any]:
    body = provider_body(fake, kind)
    body["prices"] = {model_for(kind): PRICES}
    response = await client.post(f"{API}/providers", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def cost(tokens_in: int, tokens_out: int) -> float:
    return (tokens_in * PRICES["input"] + tokens_out * PRICES["output"]) / 1_000_000


async def make_agent(client: AsyncClient, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Helper", "instructions": "You help. Use tools."}
    body.update(fields)
    response = await client.post(f"{API}/agents", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def looping_agent(client: AsyncClient, fake: FakeLLM, max_steps: int) -> dict[str, Any]:
    """An agent on a priced provider whose model calls the calculator turn after turn (more
    turns than `max_steps`)."""
    await priced_provider(client, fake)
    agent = await make_agent(client, tool_ids=["calculator"], max_steps=max_steps)
    again = turn("", ("calculator", {"expression": "1 + 1"}))
    fake.queue_turns(*[again] * (max_steps + 1), turn("never reached"))
    return agent


async def start_run(client: AsyncClient, agent_id: str, text: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/agents/{agent_id}/run", json={"input": text, **body})
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    assert run["status"] == "queued" and run["kind"] == "agent"
    return run


async def wait_for_run(
    client: AsyncClient, run_id: str, statuses: set[str] = STOPPED, timeout: float = 30
) -> dict[str, Any]:
    """The run with its trace once it is in one of `statuses` (its events are followed until
    it ends or waits, then it is polled gently)."""
    async with asyncio.timeout(timeout):
        events = await client.get(f"{API}/runs/{run_id}/events")
        assert events.status_code == 200, events.text
        while True:
            response = await client.get(f"{API}/runs/{run_id}")
            assert response.status_code == 200, response.text
            run: dict[str, Any] = response.json()
            if run["status"] in statuses:
                return run
            await asyncio.sleep(0.5)


def spans(trace: list[dict[str, Any]], type_: str | None = None) -> list[dict[str, Any]]:
    """Every span of the tree, depth first, optionally of one type."""
    found: list[dict[str, Any]] = []
    for span in trace:
        if type_ is None or span["type"] == type_:
            found.append(span)
        found += spans(span["children"], type_)
    return found
