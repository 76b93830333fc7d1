"""/metrics: runs by status, the run queue's depth and lag, LLM tokens and cost by provider
and model, scraped and parsed with the Prometheus text parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from asgi_lifespan import LifespanManager
from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.main import create_app
from orbiter.runtime.resources import Resources
from tests.helpers import new_client, new_project
from tests.monitoring.util import USAGE, insert_run


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


async def test_metrics_report_runs_queue_and_llm_usage(
    metered: AsyncClient, resources: Resources, browser: AsyncClient
) -> None:
    project = await new_project(browser)
    await insert_run(resources, project, USAGE[:2])
    await insert_run(resources, project, USAGE[2:], status="failed")
    waited = utcnow() - timedelta(minutes=2)
    await insert_run(resources, project, [], status="queued", created_at=waited)

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
    assert lag is not None and 120 <= lag < 180
    tokens = "orbiter_llm_tokens_total"
    assert value(tokens, provider="openai", model="gpt-4o", direction="in") == 400
    assert value(tokens, provider="openai", model="gpt-4o", direction="out") == 60
    assert value(tokens, provider="local", model="homebrew", direction="in") == 7
    assert value("orbiter_llm_cost_total", provider="openai", model="gpt-4o") == 1.75
    assert value("orbiter_llm_cost_total", provider="anthropic", model="claude") == 0.125
    assert value("orbiter_llm_cost_total", provider="local", model="homebrew") is None  # unpriced
