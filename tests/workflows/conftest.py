"""Test-only node types, registered for the executor's tests like the scripted executor of
tests/runs: they sleep, fail a set number of times, or always fail, so that the engine's
rules (concurrency, retries, timeouts, on_error) are tested apart from real nodes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import Field

from orbiter.workflows.nodes.base import REGISTRY, NodeCall, NodeConfig, NodeError, NodeType

ATTEMPTS: Counter[str] = Counter()


class SleepConfig(NodeConfig):
    ms: int = Field(default=0, ge=0, le=60_000)


async def run_sleep(call: NodeCall) -> Any:
    started = time.monotonic()
    await asyncio.sleep(call.config.ms / 1000)
    return {"value": call.input, "started": started, "ended": time.monotonic()}


class FlakyConfig(NodeConfig):
    fail_times: int = Field(default=1, ge=0)


async def run_flaky(call: NodeCall) -> Any:
    key = f"{call.ctx.run_id}:{call.node_id}"
    ATTEMPTS[key] += 1
    if ATTEMPTS[key] <= call.config.fail_times:
        raise NodeError(f"failure {ATTEMPTS[key]} of {call.config.fail_times}")
    return {"attempts": ATTEMPTS[key]}


TEST_TYPES = (
    NodeType("test_sleep", "data", "Sleep `ms`, output what arrived", SleepConfig, run_sleep),
    NodeType("test_flaky", "data", "Fail `fail_times` times, then succeed", FlakyConfig, run_flaky),
)


@pytest.fixture(autouse=True)
def test_node_types() -> Iterator[None]:
    for node_type in TEST_TYPES:
        REGISTRY[node_type.name] = node_type
    yield
    for node_type in TEST_TYPES:
        REGISTRY.pop(node_type.name, None)
