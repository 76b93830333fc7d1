"""Real `orbiter worker` processes on one Redis: each periodic tick runs once however many
workers run, and a run whose worker is killed (SIGKILL) mid-run does not stay `running`.

Services backend only: embedded, the API process is the one worker (the same reaper covers a
restart there: test_control.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

from orbiter.queue.brokers import PERIODIC_STREAM
from orbiter.runs import jobs
from orbiter.runtime.resources import Resources
from tests.helpers import SignedIn
from tests.runs.util import get_run, start_run, wait_for

pytestmark = pytest.mark.skipif(
    os.environ.get("ORBITER_TEST_BACKEND") != "services",
    reason="needs Redis: separate worker processes share the queue and the ticks through it",
)

ROOT = Path(__file__).resolve().parents[2]
PLAIN = ("orbiter.cli", "worker")
SCRIPTED = ("tests.runs.scripted_worker",)
FAST = {
    "ORBITER_WORKER_SHUTDOWN_SECONDS": "1",
    "ORBITER_RUN_HEARTBEAT_SECONDS": "0.5",
    "ORBITER_RUN_STALE_SECONDS": "3",
    "ORBITER_QUEUE_REDELIVER_SECONDS": "2",
    "ORBITER_MAINTENANCE_SECONDS": "0.5",
}
Start = Callable[..., subprocess.Popen[bytes]]


@asynccontextmanager
async def worker_processes(logs: Path) -> AsyncIterator[Start]:
    """Starts workers (this run's database, Redis and blob store, plus FAST); every one still
    alive at the end gets SIGTERM and must exit cleanly (0) within a few seconds."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*module: str) -> subprocess.Popen[bytes]:
        log = (logs / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", *module],
            cwd=ROOT,
            env={**os.environ, **FAST},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        started.append(process)
        return process

    try:
        yield start
    finally:
        alive = [process for process in started if process.poll() is None]
        for process in alive:
            process.send_signal(signal.SIGTERM)
        codes = [await _exit_code(process, 20) for process in alive]
        assert codes == [0] * len(alive), _tail(logs)


async def _exit_code(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if process.poll() is None:
        process.kill()
        process.wait()
        return None  # did not stop when told
    return process.returncode


def _tail(logs: Path) -> str:
    return "\n".join(f"{log.name}:\n{log.read_text()[-2000:]}" for log in logs.glob("*.log"))


def _worker_id(process: subprocess.Popen[bytes]) -> str:
    return f"{socket.gethostname()}:{process.pid}"


async def _periodic_runs(redis: Redis) -> list[dict[str, str]]:
    """The `orbiter:periodic` stream: one entry per periodic job run (job, tick, worker...)."""
    entries = await redis.xrange(PERIODIC_STREAM) or []
    runs = [{str(k): str(v) for k, v in (fields or {}).items()} for _, fields in entries]
    # The API process (this test's app) ticks its own host's sandbox reaper into the stream too.
    return [run for run in runs if not run["job"].startswith("sandboxes.reap:")]


async def _wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


async def test_two_workers_run_each_periodic_tick_once(tmp_path: Path) -> None:
    redis = Redis.from_url(os.environ["ORBITER_REDIS_URL"], decode_responses=True)
    await redis.delete(PERIODIC_STREAM)
    try:
        async with worker_processes(tmp_path) as start:
            workers = [start(*PLAIN), start(*PLAIN)]
            ids = {_worker_id(process) for process in workers}

            async def both_ticking() -> bool:
                return {run["worker"] for run in await _periodic_runs(redis)} == ids

            await _wait_until(
                both_ticking, 180, f"both workers to run periodic jobs\n{_tail(tmp_path)}"
            )
            first = max(
                int(r["tick"]) for r in await _periodic_runs(redis) if r["job"] == "maintenance"
            )

            async def ten_more_ticks() -> bool:
                ticks = [
                    int(r["tick"]) for r in await _periodic_runs(redis) if r["job"] == "maintenance"
                ]
                return max(ticks) >= first + 10

            await _wait_until(ten_more_ticks, 30, "ten more maintenance ticks")
            assert all(process.poll() is None for process in workers), _tail(tmp_path)
        runs = await _periodic_runs(redis)
    finally:
        await redis.delete(PERIODIC_STREAM)
        await redis.aclose()

    per_tick = Counter((run["job"], int(run["tick"])) for run in runs)
    assert max(per_tick.values()) == 1, [key for key, n in per_tick.items() if n > 1]
    assert {run["worker"] for run in runs} == ids
    assert all(run["ok"] == "1" for run in runs)
    maintenance = sorted(tick for job, tick in per_tick if job == "maintenance")
    # Every tick while both ran was taken by one of them: none skipped, none run twice.
    assert [t for t in maintenance if t >= first] == list(range(first, maintenance[-1] + 1))
    reaps = [tick for job, tick in per_tick if job == "runs.reap"]
    assert len(reaps) >= 3


async def test_a_run_whose_worker_is_killed_ends_within_a_bounded_time(
    resources: Resources, owner: SignedIn, tmp_path: Path
) -> None:
    stale = float(FAST["ORBITER_RUN_STALE_SECONDS"])
    async with worker_processes(tmp_path) as start:
        doomed = start(*SCRIPTED)
        run_id = await start_run(
            resources,
            owner,
            {"do": "step", "name": "long", "then": [{"do": "sleep", "seconds": 600}]},
        )
        await wait_for(owner.api, run_id, "running", timeout=60)

        async def step_open() -> bool:
            trace = (await get_run(owner.api, run_id))["trace"]
            return bool(trace) and trace[0]["status"] == "open"

        await _wait_until(step_open, 20, "the step span to open")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed = time.monotonic()
        start(*SCRIPTED)
        run = await wait_for(owner.api, run_id, timeout=60)
        took = time.monotonic() - killed

    # No worker can resume a run mid-step, so the next worker's reaper fails it, with its
    # open span closed, within the stale time plus a reaper tick (and the worker's start-up).
    assert run["status"] == "failed", run
    assert run["error"] == jobs.LOST
    [step] = run["trace"]
    assert step["name"] == "long"
    assert step["status"] == "error" and step["error"] == jobs.LOST["message"]
    assert run["finished_at"] is not None
    assert took < stale + jobs.REAP_EVERY_SECONDS + 15, took
