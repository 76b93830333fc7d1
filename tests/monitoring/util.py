"""Runs with known token usage, played through the run engine by the scripted executor."""

from __future__ import annotations

from typing import Any

from orbiter.runtime.resources import Resources
from tests.helpers import SignedIn
from tests.runs.util import spans_by_name, start_run, wait_for

# USD per million tokens: a call's cost is tokens_in / 2 + tokens_out, exact in binary.
PRICES = {"input": 500_000, "output": 1_000_000}


def llm(
    name: str, model: str, provider: str, tokens: tuple[int, int], priced: bool = True
) -> dict[str, Any]:
    """An LLM call of the scripted executor; unpriced: a model no price table knows."""
    action: dict[str, Any] = {
        "do": "llm",
        "name": name,
        "model": model,
        "provider": provider,
        "tokens": list(tokens),
    }
    if priced:
        action["prices"] = {model: PRICES}
    return action


async def played(
    resources: Resources, user: SignedIn, *calls: dict[str, Any], **fields: Any
) -> dict[str, dict[str, Any]]:
    """Run the calls (inside a step without usage) to success; its spans by name."""
    run_id = await start_run(
        resources, user, {"do": "step", "name": "plan", "then": list(calls)}, **fields
    )
    run = await wait_for(user.api, run_id)
    assert run["status"] == "succeeded", run
    return spans_by_name(run["trace"])
