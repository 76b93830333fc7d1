"""/metrics: runs by status, the run queue's depth and lag, LLM tokens and cost by provider
and model, scraped and parsed with the Prometheus text parser."""

from __future__ import annotations

import asyncio

import pytest
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.core.test_metrics import _samples
from tests.helpers import SignedInFactory
from tests.monitoring.test_costs import CLAUDE, GPT_A, GPT_B, HOMEBREW
from tests.monitoring.util import played
from tests.runs.util import start_run, wait_for

pytestmark = pytest.mark.usefixtures("run_worker")


async def test_metrics_report_runs_queue_and_llm_usage(
    metered: AsyncClient, resources: Resources, signed_in: SignedInFactory
) -> None:
    owner = await signed_in()
    await played(resources, owner, GPT_A, GPT_B, CLAUDE, HOMEBREW)
    failing = await start_run(resources, owner, CLAUDE, {"do": "fail"})
    assert (await wait_for(owner.api, failing))["status"] == "failed"
    await start_run(resources, owner, send=False)  # its job lost: queued until resent
    await asyncio.sleep(0.2)

    response = await metered.get("/metrics")
    assert response.status_code == 200
    samples = _samples(response.text)

    def value(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    assert value("orbiter_runs", status="succeeded") == 1
    assert value("orbiter_runs", status="failed") == 1
    assert value("orbiter_runs", status="queued") == 1
    assert value("orbiter_runs", status="cancelled") == 0
    assert value("orbiter_run_queue_depth") == 1
    lag = value("orbiter_run_queue_lag_seconds")
    assert lag is not None and 0.2 <= lag < 60
    tokens = "orbiter_llm_tokens_total"
    assert value(tokens, provider="openai", model="gpt-4o", direction="in") == 400
    assert value(tokens, provider="openai", model="gpt-4o", direction="out") == 60
    assert value(tokens, provider="local", model="homebrew", direction="in") == 7
    assert value(tokens, provider="anthropic", model="claude", direction="out") == 10
    assert value("orbiter_llm_cost_total", provider="openai", model="gpt-4o") == 260.0
    assert value("orbiter_llm_cost_total", provider="anthropic", model="claude") == 60.0
    assert value("orbiter_llm_cost_total", provider="local", model="homebrew") is None  # unpriced
