"""GET /monitoring/costs: token and cost totals of the LLM calls in the caller's projects,
from runs played through the engine (their spans and the hourly rollup kept as they close)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from orbiter.core.time import utcnow
from orbiter.monitoring.rollup import assist_backfill_sql, backfill_sql, chat_backfill_sql
from orbiter.runtime.resources import Resources
from tests.conversations.util import new_conversation
from tests.fakes.llm_servers import FakeLLM, create_fake_provider, turn
from tests.helpers import API, SignedIn, SignedInFactory, new_project
from tests.monitoring.util import PRICES, llm, played

pytestmark = pytest.mark.usefixtures("run_worker")

GPT_A = llm("a1", "gpt-4o", "openai", (100, 20))  # cost 70
CLAUDE = llm("a2", "claude", "anthropic", (50, 5))  # cost 30
HOMEBREW = llm("a3", "homebrew", "local", (7, 3), priced=False)  # no price: null
GPT_B = llm("b1", "gpt-4o", "openai", (300, 40))  # cost 190
ROLLUP_ROWS = "SELECT * FROM usage_rollups ORDER BY 1, 2, 3, 4, 5, 6, 7"


async def _costs(client: AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get(f"{API}/monitoring/costs", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _buckets(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (b["key"], b["tokens_in"], b["tokens_out"], b["cost"], b["spans"]) for b in body["buckets"]
    ]


async def _two_runs(resources: Resources, owner: SignedIn) -> tuple[datetime, datetime]:
    """Run A (three calls), then run B (one); the start times of A's first and B's call."""
    first = await played(resources, owner, GPT_A, CLAUDE, HOMEBREW)
    second = await played(resources, owner, GPT_B)
    return _at(first["a1"]), _at(second["b1"])


def _at(span: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(span["started_at"])


async def test_costs_by_model_total_the_callers_spans_with_a_null_bucket_for_unpriced(
    resources: Resources, signed_in: SignedInFactory
) -> None:
    owner, stranger = await signed_in(), await signed_in()
    await _two_runs(resources, owner)
    await played(resources, stranger, llm("x", "gpt-4o", "openai", (9, 9)))

    body = await _costs(owner.api, group_by="model")
    assert _buckets(body) == [
        ("claude", 50, 5, 30.0, 1),
        ("gpt-4o", 400, 60, 260.0, 2),
        ("homebrew", 7, 3, None, 1),
    ]
    assert body["totals"] == {
        "tokens_in": 457,
        "tokens_out": 68,
        "cost": 290.0,
        "unpriced_spans": 1,
    }
    assert _buckets(await _costs(stranger.api, group_by="model")) == [("gpt-4o", 9, 9, 13.5, 1)]
    by_provider = await _costs(owner.api, group_by="provider")
    assert _buckets(by_provider) == [
        ("anthropic", 50, 5, 30.0, 1),
        ("local", 7, 3, None, 1),
        ("openai", 400, 60, 260.0, 2),
    ]
    today = utcnow().date().isoformat()
    by_day = _buckets(await _costs(owner.api, group_by="day"))
    assert by_day == [(today, 450, 65, 290.0, 3), (today, 7, 3, None, 1)]


async def test_since_and_until_bound_the_calls_exactly(
    resources: Resources, signed_in: SignedInFactory
) -> None:
    owner = await signed_in()
    a_start, b_start = await _two_runs(resources, owner)

    only_b = await _costs(owner.api, group_by="model", since=b_start.isoformat())
    assert _buckets(only_b) == [("gpt-4o", 300, 40, 190.0, 1)]
    only_a = await _costs(owner.api, group_by="model", until=b_start.isoformat())
    assert _buckets(only_a) == [
        ("claude", 50, 5, 30.0, 1),
        ("gpt-4o", 100, 20, 70.0, 1),
        ("homebrew", 7, 3, None, 1),
    ]
    after_a = a_start + timedelta(microseconds=1)  # A's first call falls out, its others stay
    some = await _costs(owner.api, group_by="model", since=after_a.isoformat())
    assert [b[0] for b in _buckets(some)] == ["claude", "gpt-4o", "homebrew"]
    assert _buckets(some)[1] == ("gpt-4o", 300, 40, 190.0, 1)
    # whole hours from the rollup and partial ones from the spans add up to everything
    wide = {"since": (a_start - timedelta(hours=3)).isoformat()}
    wide["until"] = (b_start + timedelta(hours=3)).isoformat()
    assert _buckets(await _costs(owner.api, group_by="model", **wide)) == _buckets(
        await _costs(owner.api, group_by="model")
    )
    assert (await _costs(owner.api, group_by="model", since=wide["until"]))["buckets"] == []


async def test_costs_by_agent_and_workflow_count_only_that_kind_of_run(
    resources: Resources, signed_in: SignedInFactory
) -> None:
    owner = await signed_in()
    agent, workflow = uuid.uuid4(), uuid.uuid4()
    await played(resources, owner, GPT_A, kind="agent", target_id=agent)
    await played(resources, owner, GPT_B, kind="workflow", target_id=workflow)
    await played(resources, owner, CLAUDE)  # a task: neither

    by_agent = await _costs(owner.api, group_by="agent")
    assert _buckets(by_agent) == [(str(agent), 100, 20, 70.0, 1)]
    by_workflow = await _costs(owner.api, group_by="workflow")
    assert _buckets(by_workflow) == [(str(workflow), 300, 40, 190.0, 1)]
    bad = await owner.api.get(f"{API}/monitoring/costs", params={"group_by": "week"})
    assert bad.status_code == 422
    for field in ("since", "until"):
        far = await owner.api.get(f"{API}/monitoring/costs", params={field: "9999-12-31T23:59:59"})
        assert (
            far.status_code == 422 and far.json()["error"]["details"]["fields"][0]["field"] == field
        )


async def test_the_backfill_rebuilds_the_rollup_the_engine_keeps(
    resources: Resources, signed_in: SignedInFactory
) -> None:
    """Migration 0011 fills usage_rollups from the spans already there: the same totals."""
    owner = await signed_in()
    await _two_runs(resources, owner)
    await played(resources, owner, GPT_A, kind="agent", target_id=uuid.uuid4())
    kept = {by: await _costs(owner.api, group_by=by) for by in ("day", "model", "agent")}
    async with resources.engine.begin() as conn:
        before = (
            await conn.execute(text("SELECT * FROM usage_rollups ORDER BY 1, 2, 3, 4, 5, 6, 7"))
        ).all()
        await conn.execute(text("DELETE FROM usage_rollups"))
        await conn.execute(text(backfill_sql(resources.engine.dialect.name)))
        after = (
            await conn.execute(text("SELECT * FROM usage_rollups ORDER BY 1, 2, 3, 4, 5, 6, 7"))
        ).all()
    assert after == before
    for by, body in kept.items():
        assert await _costs(owner.api, group_by=by) == body


async def test_conversation_replies_outside_runs_count_as_chat_calls(
    resources: Resources, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    """A plain reply's tokens are priced like a span's: in the rollup for whole hours, read
    from the messages at the edges, left out when grouping by agent or workflow."""
    await create_fake_provider(
        browser, fake_llm, models=["echo", "mystery"], prices={"echo": PRICES}
    )
    cid = (await new_conversation(browser))["id"]
    fake_llm.queue_turns(
        turn("One.", usage=(100, 20)), turn("Two.", usage=(40, 6)), turn("Three.", usage=(7, 3))
    )
    url = f"{API}/conversations/{cid}/messages"
    for body in ({"content": "first"}, {"content": "second"}, {"content": "3", "model": "mystery"}):
        sent = await browser.post(url, json=body)
        assert sent.status_code == 200, sent.text
    third = sent
    at = datetime.fromisoformat(third.json()["assistant_message"]["created_at"])

    expected = [("echo", 140, 26, 96.0, 2), ("mystery", 7, 3, None, 1)]
    assert _buckets(await _costs(browser, group_by="model")) == expected
    wide = {"since": (at - timedelta(hours=3)).isoformat()}
    wide["until"] = (at + timedelta(hours=3)).isoformat()
    assert _buckets(await _costs(browser, group_by="model", **wide)) == expected
    edge = {"since": at.isoformat(), "until": (at + timedelta(seconds=1)).isoformat()}
    assert _buckets(await _costs(browser, group_by="model", **edge)) == [expected[1]]
    assert _buckets(await _costs(browser, group_by="provider")) == [
        ("openai_compatible", 140, 26, 96.0, 2),
        ("openai_compatible", 7, 3, None, 1),
    ]
    assert (await _costs(browser, group_by="agent"))["buckets"] == []

    async with resources.engine.connect() as conn:
        kept = (
            await conn.execute(text("SELECT * FROM usage_rollups ORDER BY 1, 2, 3, 4, 5, 6, 7"))
        ).all()
        await conn.execute(text("DELETE FROM usage_rollups"))
        await conn.execute(text(chat_backfill_sql(resources.engine.dialect.name)))
        rebuilt = (
            await conn.execute(text("SELECT * FROM usage_rollups ORDER BY 1, 2, 3, 4, 5, 6, 7"))
        ).all()
        await conn.commit()
    assert rebuilt == kept


async def test_other_llm_calls_for_a_project_count_as_assist_calls(
    resources: Resources, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    """Next steps generated by the LLM: priced, in the rollup for whole hours, read from
    `llm_calls` at the edges, left out when grouping by agent or workflow."""
    await create_fake_provider(browser, fake_llm, models=["echo"], prices={"echo": PRICES})
    project_id = await new_project(browser)
    step = {"next_steps": [{"title": "Ship it", "rationale": "From the brief"}]}
    fake_llm.queue_turns(
        turn(json.dumps(step), usage=(100, 20)), turn(json.dumps(step), usage=(40, 6))
    )
    for _ in range(2):
        generated = await browser.post(f"{API}/projects/{project_id}/next-steps/generate")
        assert generated.status_code == 200, generated.text
    at = utcnow()

    expected = [("echo", 140, 26, 96.0, 2)]
    assert _buckets(await _costs(browser, group_by="model")) == expected
    edge = {"since": (at - timedelta(minutes=5)).isoformat(), "until": at.isoformat()}
    assert _buckets(await _costs(browser, group_by="model", **edge)) == expected
    wide = {"since": (at - timedelta(hours=3)).isoformat()}
    wide["until"] = (at + timedelta(hours=3)).isoformat()
    assert _buckets(await _costs(browser, group_by="model", **wide)) == expected
    assert (await _costs(browser, group_by="workflow"))["buckets"] == []

    async with resources.engine.connect() as conn:
        kept = (await conn.execute(text(ROLLUP_ROWS))).all()
        await conn.execute(text("DELETE FROM usage_rollups"))
        await conn.execute(text(assist_backfill_sql(resources.engine.dialect.name)))
        rebuilt = (await conn.execute(text(ROLLUP_ROWS))).all()
        await conn.commit()
    assert [row[2] for row in kept] == ["assist"] and rebuilt == kept
