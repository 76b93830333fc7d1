"""The job queue: jobs leave only after their transaction commits (never after a rollback),
carry their ids and payloads, and periodic jobs run once per tick however many tickers run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.queue import Job, Periodic, Ticker, after_commit
from orbiter.runtime.deps import get_db
from orbiter.runtime.resources import Resources


@pytest.fixture
async def received(resources: Resources) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """Jobs named `test.record` land here; on Redis a consumer runs for the test."""
    got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def record(payload: dict[str, Any]) -> None:
        await got.put(payload)

    resources.queue.register("test.record", record)
    stop = asyncio.Event()
    consumer = asyncio.create_task(resources.queue.consume(stop))
    await asyncio.sleep(0.2)  # the consumer group exists before anything is sent
    yield got
    stop.set()
    await consumer


async def test_a_job_is_sent_when_the_request_transaction_commits(
    resources: Resources, received: asyncio.Queue[dict[str, Any]]
) -> None:
    session = get_db(resources)
    db = await anext(session)
    job = Job("test.record", {"n": 1})
    after_commit(db, job)
    await asyncio.sleep(0.3)
    assert received.empty()  # not before the commit
    with contextlib.suppress(StopAsyncIteration):
        await anext(session)  # the request ends: commit, then send
    assert await asyncio.wait_for(received.get(), 10) == {"n": 1}
    assert isinstance(job.id, str) and len(job.id) == 36


async def test_a_job_of_a_transaction_rolled_back_is_never_sent(
    resources: Resources, received: asyncio.Queue[dict[str, Any]]
) -> None:
    session = cast(AsyncGenerator[AsyncSession, None], get_db(resources))
    db = await anext(session)
    after_commit(db, Job("test.record", {"n": "rolled back"}))
    with pytest.raises(RuntimeError):
        await session.athrow(RuntimeError("the request failed"))
    after = get_db(resources)
    db = await anext(after)
    after_commit(db, Job("test.record", {"n": "committed"}))
    with contextlib.suppress(StopAsyncIteration):
        await anext(after)
    assert await asyncio.wait_for(received.get(), 10) == {"n": "committed"}
    await asyncio.sleep(0.3)
    assert received.empty()


async def test_a_claim_is_given_once_per_key(resources: Resources) -> None:
    key = f"test:{time.time_ns()}"
    assert await resources.queue.claim_once(key, 10) is True
    assert await resources.queue.claim_once(key, 10) is False


async def test_periodic_jobs_run_once_per_tick_however_many_tickers(resources: Resources) -> None:
    runs: list[float] = []

    async def count() -> None:
        runs.append(time.time())

    every = 0.2
    name = f"test.count.{time.time_ns()}"
    stop = asyncio.Event()
    tickers = [Ticker(resources.queue, [Periodic(name, every, count)]) for _ in range(3)]
    started = time.time()
    tasks = [asyncio.create_task(ticker.run(stop)) for ticker in tickers]
    await asyncio.sleep(2.1)
    stop.set()
    await asyncio.gather(*tasks)
    slots = {int(at // every) for at in runs}
    assert len(slots) == len(runs)  # never twice in one tick
    expected = int(time.time() // every) - int(started // every) + 1
    assert expected - 2 <= len(runs) <= expected


async def test_a_failing_periodic_job_runs_again_next_tick(resources: Resources) -> None:
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("down")

    stop = asyncio.Event()
    ticker = Ticker(resources.queue, [Periodic(f"test.flaky.{time.time_ns()}", 0.2, flaky)])
    task = asyncio.create_task(ticker.run(stop))
    await asyncio.sleep(0.9)
    stop.set()
    await task
    assert calls >= 3
