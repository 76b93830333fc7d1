"""Controlling runs: cancel (queued, running, waiting, finished), caps, the LLM rate limit,
idempotency keys, lost workers, lost jobs and worker shutdown."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import update

from orbiter.core.db import transaction
from orbiter.core.time import utcnow
from orbiter.models import Run, Span
from orbiter.runs import jobs, service
from orbiter.runs.engine import Engine
from orbiter.runtime.resources import Resources
from tests.helpers import SignedIn, assert_error
from tests.runs.util import API, get_run, start_run, wait_for
from tests.sse import parse_sse

pytestmark = pytest.mark.usefixtures("worker")
SLEEP = {"do": "sleep", "seconds": 30}


async def test_cancelling_a_running_run_stops_it_within_a_second(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(resources, owner, {"do": "step", "name": "long", "then": [SLEEP]})
    await wait_for(owner.api, run_id, "running")
    await asyncio.sleep(0.2)  # the step's span is open
    started = time.monotonic()
    response = await owner.browser.post(f"{API}/runs/{run_id}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["cancel_requested"] is True
    run = await wait_for(owner.api, run_id, "cancelled", timeout=5)
    assert time.monotonic() - started < 1.5
    assert run["finished_at"] and run["error"] is None and run["output"] is None
    [long] = run["trace"]
    assert long["status"] == "error" and long["error"] == "cancelled"
    assert long["duration_ms"] is not None
    events = parse_sse((await owner.api.get(f"{API}/runs/{run_id}/events")).text)
    assert [e.event for e in events] == ["step_started", "cancelled"]
    assert events[-1].data == {"status": "cancelled"}
    again = await owner.api.post(f"{API}/runs/{run_id}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


async def test_a_queued_or_waiting_run_is_cancelled_at_once(
    resources: Resources, owner: SignedIn
) -> None:
    queued = await start_run(resources, owner, send=False)  # its job was lost: it stays queued
    waiting = await start_run(resources, owner, {"do": "ask"})
    await wait_for(owner.api, waiting, "awaiting_input")
    for run_id in (queued, waiting):
        response = await owner.cli.post(f"{API}/runs/{run_id}/cancel")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"
        events = parse_sse((await owner.api.get(f"{API}/runs/{run_id}/events")).text)
        assert events[-1].event == "cancelled"
    # A job delivered later for the cancelled run does nothing.
    await Engine(resources).execute(uuid.UUID(queued))
    assert (await get_run(owner.api, queued))["attempts"] == 0


async def test_a_finished_run_cannot_be_cancelled(resources: Resources, owner: SignedIn) -> None:
    run_id = await start_run(resources, owner)
    await wait_for(owner.api, run_id)
    response = await owner.api.post(f"{API}/runs/{run_id}/cancel")
    error = assert_error(response, 409, "CONFLICT")
    assert error["details"] == {"status": "succeeded"}


async def test_a_job_delivered_again_for_a_finished_run_does_nothing(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(resources, owner, {"do": "step", "name": "once"})
    before = await wait_for(owner.api, run_id)
    await Engine(resources).handle({"run_id": run_id})
    after = await get_run(owner.api, run_id)
    assert after == before


async def test_the_step_cap_fails_the_run(resources: Resources, owner: SignedIn) -> None:
    steps = [{"do": "step", "name": f"s{i}"} for i in range(4)]
    run_id = await start_run(resources, owner, *steps, input={"max_steps": 3})
    run = await wait_for(owner.api, run_id)
    assert run["status"] == "failed"
    assert run["error"] == {
        "code": "RUN_LIMIT_EXCEEDED",
        "message": "The run reached its limit of 3 steps",
    }
    assert [s["name"] for s in run["trace"]] == ["s0", "s1", "s2"]


async def test_the_token_and_time_caps_fail_the_run(
    resources: Resources, owner: SignedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "run_max_tokens", 100)
    llm = {"do": "llm", "model": "gpt-4o", "provider": "openai", "tokens": [80, 30]}
    tokens = await start_run(resources, owner, llm, llm)
    run = await wait_for(owner.api, tokens)
    assert run["error"] == {
        "code": "RUN_LIMIT_EXCEEDED",
        "message": "The run reached its limit of 100 tokens",
    }
    assert (run["tokens_in"], run["tokens_out"]) == (80, 30)

    monkeypatch.setattr(resources.settings, "run_max_seconds", 0.5)
    slow = await start_run(resources, owner, {"do": "step", "name": "slow", "then": [SLEEP]})
    run = await wait_for(owner.api, slow, timeout=5)
    assert run["error"] == {
        "code": "RUN_LIMIT_EXCEEDED",
        "message": "The run reached its limit of 0.5 seconds",
    }
    assert run["trace"][0]["status"] == "error"


async def test_runs_wait_for_the_llm_rate_limit_and_can_be_cancelled_meanwhile(
    resources: Resources, owner: SignedIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "rate_limit_llm_free", 1)
    first = await start_run(resources, owner, {"do": "rate"})
    assert (await wait_for(owner.api, first))["status"] == "succeeded"
    second = await start_run(resources, owner, {"do": "rate"})
    await wait_for(owner.api, second, "running")
    await asyncio.sleep(1)
    assert (await get_run(owner.api, second))["status"] == "running"  # waiting for the window
    assert (await owner.api.post(f"{API}/runs/{second}/cancel")).status_code == 200
    assert (await wait_for(owner.api, second, timeout=5))["status"] == "cancelled"


async def test_an_idempotency_key_returns_the_first_run_for_24_hours(
    resources: Resources, owner: SignedIn
) -> None:
    first = await start_run(resources, owner, idempotency_key="deploy-42")
    again = await start_run(resources, owner, {"do": "fail"}, idempotency_key="deploy-42")
    assert again == first
    run = await wait_for(owner.api, first)
    assert run["status"] == "succeeded" and run["attempts"] == 1  # started once
    other = await start_run(resources, owner, idempotency_key="deploy-43")
    assert other != first
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Run)
            .where(Run.id == uuid.UUID(first))
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    later = await start_run(resources, owner, idempotency_key="deploy-42")
    assert later not in (first, other)
    assert (await wait_for(owner.api, later))["status"] == "succeeded"


async def test_the_same_key_of_another_user_starts_their_own_run(
    resources: Resources, owner: SignedIn, signed_in: Callable[[], Awaitable[SignedIn]]
) -> None:
    other = await signed_in()
    mine = await start_run(resources, owner, idempotency_key="k")
    theirs = await start_run(resources, other, idempotency_key="k")
    assert mine != theirs


async def test_a_run_whose_worker_died_is_failed_by_the_reaper(
    resources: Resources, owner: SignedIn
) -> None:
    """A worker that stopped writing heartbeats (killed: see test_workers.py for a real kill),
    or a restart: nobody calls the reaper, this process (embedded: the API process) runs it on
    its own ticks."""
    run_id = await start_run(resources, owner, send=False)
    stale = utcnow() - timedelta(seconds=resources.settings.run_stale_seconds + 5)
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Run)
            .where(Run.id == uuid.UUID(run_id))
            .values(status="running", attempts=1, started_at=stale, heartbeat_at=stale)
        )
        db.add(
            Span(
                run_id=uuid.UUID(run_id),
                type="step",
                name="cut short",
                status="open",
                started_at=stale,
            )
        )
    run = await wait_for(owner.api, run_id, timeout=jobs.REAP_EVERY_SECONDS * 3)
    assert run["status"] == "failed"
    assert run["error"] == {"code": "INTERNAL_ERROR", "message": "the worker running it stopped"}
    [span] = run["trace"]
    assert span["status"] == "error" and span["error"] == "the worker running it stopped"
    assert span["duration_ms"] >= (resources.settings.run_stale_seconds + 5) * 1000
    events = parse_sse((await owner.api.get(f"{API}/runs/{run_id}/events")).text)
    assert [e.event for e in events] == ["error"]
    assert await jobs.reap_lost_runs(resources) == 0  # once only


async def test_a_queued_run_whose_job_was_lost_is_sent_again(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(resources, owner, send=False)
    assert await jobs.resend_queued(resources) == 0  # too recent: its job may be on its way
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Run)
            .where(Run.id == uuid.UUID(run_id))
            .values(updated_at=utcnow() - timedelta(minutes=5))
        )
    assert await jobs.resend_queued(resources) == 1
    assert (await wait_for(owner.api, run_id))["status"] == "succeeded"
    assert await jobs.resend_queued(resources) == 0


async def test_a_worker_shutting_down_hands_its_runs_back_to_the_queue(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(
        resources,
        owner,
        {"do": "state", "key": "progress", "value": "half way"},
        {"do": "sleep", "seconds": 30, "first_attempt_only": True},
        send=False,
    )
    leaving = Engine(resources)
    running = asyncio.create_task(leaving.execute(uuid.UUID(run_id)))
    await wait_for(owner.api, run_id, "running")
    await asyncio.sleep(0.2)
    await leaving.stop(wait_seconds=0)  # the job is handed back; another worker takes it
    await running
    run = await wait_for(owner.api, run_id)
    assert run["status"] == "succeeded" and run["attempts"] == 2
    assert run["output"] == {"ok": True}


async def test_resuming_a_run_that_is_not_waiting_is_a_conflict(
    resources: Resources, owner: SignedIn
) -> None:
    from orbiter.core.errors import Conflict, NotFound

    run_id = await start_run(resources, owner)
    await wait_for(owner.api, run_id)
    with pytest.raises(Conflict):
        async with transaction(resources.sessionmaker) as db:
            await service.resume_run(db, resources, run_id=uuid.UUID(run_id), payload={})
    with pytest.raises(NotFound):
        async with transaction(resources.sessionmaker) as db:
            await service.resume_run(db, resources, run_id=uuid.uuid4(), payload={})
