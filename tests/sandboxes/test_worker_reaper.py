"""A host that runs only `orbiter worker` (no API process) frees the sandboxes a crashed or
`kill -9`ed process left behind: at start-up the worker reaps its host's expired sandboxes
(row and files) and the stray work dirs of one-shot code, and keeps the live ones. On Redis,
two workers on one host reap each tick once between them."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import select

from orbiter.core.time import utcnow
from orbiter.models import Sandbox
from orbiter.queue.brokers import PERIODIC_STREAM
from orbiter.runtime.resources import Resources
from tests.helpers import browser_for
from tests.runs.test_workers import PLAIN, worker_processes

LONG_AGO = time.time() - 3600  # well past the reaper's grace for files without a row


async def _sandbox(
    resources: Resources, root: Path, host: str, user_id: uuid.UUID, expires_at: datetime
) -> Path:
    """A sandbox row of `host` and its work dir with a file, as a process made them."""
    sandbox_id = uuid.uuid4()
    async with resources.sessionmaker() as db:
        db.add(
            Sandbox(
                id=sandbox_id,
                user_id=user_id,
                template="code-interpreter-v1",
                host=host,
                cwd="/home/user",
                expires_at=expires_at,
            )
        )
        await db.commit()
    return _work_dir(root / str(sandbox_id))


def _work_dir(path: Path, *, mtime: float | None = None) -> Path:
    path.mkdir(parents=True)
    (path / "data.txt").write_text("left behind")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


async def _rows(resources: Resources, host: str) -> set[str]:
    async with resources.sessionmaker() as db:
        ids = (await db.execute(select(Sandbox.id).where(Sandbox.host == host))).scalars()
        return {str(sandbox_id) for sandbox_id in ids}


async def _reap_ticks(redis_url: str, host: str) -> list[tuple[str, str]]:
    """(tick, worker) of each run of this host's reaper in the `orbiter:periodic` stream."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        entries = await redis.xrange(PERIODIC_STREAM) or []
    finally:
        await redis.aclose()
    runs = [{str(k): str(v) for k, v in (fields or {}).items()} for _, fields in entries]
    job = f"sandboxes.reap:{host}"
    return [(run["tick"], run["worker"]) for run in runs if run["job"] == job]


def _started(logs: Path, count: int) -> bool:
    """Every worker has started (so it stops cleanly when told)."""
    return sum("worker started" in log.read_text() for log in logs.glob("*.log")) == count


async def test_a_worker_only_host_reaps_its_leftovers_at_start_up(
    app: FastAPI,
    resources: Resources,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, me = await browser_for(app)
    await client.aclose()
    user_id = uuid.UUID(me["id"])
    root, host = tmp_path / "sandboxes", f"worker-only-{uuid.uuid4().hex[:8]}"
    # The worker's host: its own name and sandbox dir, so the test app's reaper (this
    # process's host) never touches them; only the worker can free what is there.
    monkeypatch.setenv("ORBITER_SANDBOX_DIR", str(root))
    monkeypatch.setenv("ORBITER_SANDBOX_HOST", host)
    now = utcnow()
    expired = await _sandbox(resources, root, host, user_id, now - timedelta(minutes=1))
    live = await _sandbox(resources, root, host, user_id, now + timedelta(hours=1))
    stray = _work_dir(root / str(uuid.uuid4()), mtime=LONG_AGO)  # one-shot of a killed process
    mid_call = _work_dir(root / str(uuid.uuid4()))  # a one-shot call may be running right now

    redis_url = resources.settings.redis_url
    logs = tmp_path / "logs"
    logs.mkdir()
    async with worker_processes(logs) as start:
        workers = [start(*PLAIN) for _ in range(2 if redis_url else 1)]
        deadline = time.monotonic() + 20
        while expired.exists() or stray.exists() or not _started(logs, len(workers)):
            assert time.monotonic() < deadline, "the worker did not reap the leftovers"
            assert all(w.poll() is None for w in workers), "a worker exited"
            await asyncio.sleep(0.1)

    assert await _rows(resources, host) == {live.name}  # the expired row went with its files
    assert live.is_dir() and mid_call.is_dir()
    assert (live / "data.txt").read_text() == "left behind"
    if redis_url:  # the workers did it, each tick once between them
        ticks = await _reap_ticks(redis_url, host)
        names = {f"{socket.gethostname()}:{w.pid}" for w in workers}
        assert ticks and {worker for _, worker in ticks} <= names
        assert len({tick for tick, _ in ticks}) == len(ticks)
