#!/usr/bin/env python3
"""Queue latency and throughput of trivial runs on Redis with one `orbiter worker` process.

    python bench/runs.py [--latency-runs 200] [--throughput-runs 2000] [--rounds 3]

Starts PostgreSQL and Redis (as scripts/run_tests.py does), migrates, serves Orbiter once to
register a user, and starts one worker process: the real `orbiter worker` command with the
test suite's scripted executor registered (tests/runs/scripted_worker.py), since no shipped
executor runs without a model. A trivial run opens one step span and returns at once. This
process creates runs the way a run-starting route does (`runs.service.create_run`, its job sent
after the commit). For each of `--rounds` rounds (latency and throughput interleaved; the
median of the rounds is reported):

* latency: `--latency-runs` runs created one after another, 5 ms apart (the queue never
  backs up); enqueue-to-start is the run's first step span `started_at` minus the run's
  `created_at` (the row's insert, before its commit and the job's send), p50 and p99;
* throughput: `--throughput-runs` runs created with their jobs held back, then all jobs sent
  at once; runs/s is their number over the time from the first send to the last
  `finished_at`.

Any run that does not succeed fails the bench. Targets: p50 enqueue-to-start under 20 ms and
at least 200 trivial runs/s per worker process. Exit status 0 when both are met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    info,
    orbiter_env,
    serve_orbiter,
    sign_in,
    start_process,
    stop_servers_on_signals,
)
from sqlalchemy import func, select  # noqa: E402

from orbiter.core.db import transaction  # noqa: E402
from orbiter.core.settings import Settings  # noqa: E402
from orbiter.models import Run, Span  # noqa: E402
from orbiter.queue import drop_pending, send_pending  # noqa: E402
from orbiter.runs import service  # noqa: E402
from orbiter.runs.engine import execute_job  # noqa: E402
from orbiter.runtime.resources import Resources  # noqa: E402

P50_TARGET_MS = 20.0
THROUGHPUT_TARGET = 200.0
TRIVIAL = {"actions": [{"do": "step", "name": "answer"}]}
KIND = "task"  # the scripted executor's kind (tests/runs/scripted.py)
CREATORS = 8  # concurrent run creators when the jobs are held back
FINISHED = ("succeeded", "failed", "cancelled")


class Bench:
    def __init__(self, resources: Resources, user_id: uuid.UUID, project_id: uuid.UUID) -> None:
        self.resources = resources
        self.user_id = user_id
        self.project_id = project_id

    async def create(self, *, send: bool) -> uuid.UUID:
        async with transaction(self.resources.sessionmaker) as db:
            run = await service.create_run(
                db,
                self.resources,
                user_id=self.user_id,
                project_id=self.project_id,
                kind=KIND,
                input=TRIVIAL,
            )
        if send:
            await send_pending(self.resources.queue, db)
        else:
            drop_pending(db)
        return run.id

    async def wait_finished(self, run_ids: list[uuid.UUID], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            async with self.resources.sessionmaker() as db:
                done = await db.scalar(
                    select(func.count())
                    .select_from(Run)
                    .where(Run.id.in_(run_ids), Run.status.in_(FINISHED))
                )
            if done == len(run_ids):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {done} of {len(run_ids)} runs finished in {timeout} s")
            await asyncio.sleep(0.05)

    async def outcomes(self, run_ids: list[uuid.UUID]) -> list[Any]:
        first_step = (
            select(Span.run_id, func.min(Span.started_at).label("first"))
            .where(Span.run_id.in_(run_ids))
            .group_by(Span.run_id)
            .subquery()
        )
        stmt = (
            select(Run.status, Run.error, Run.created_at, Run.finished_at, first_step.c.first)
            .join(first_step, first_step.c.run_id == Run.id, isouter=True)
            .where(Run.id.in_(run_ids))
        )
        async with self.resources.sessionmaker() as db:
            rows = list((await db.execute(stmt)).all())
        failed = [row for row in rows if row.status != "succeeded" or row.first is None]
        if failed or len(rows) != len(run_ids):
            raise RuntimeError(f"{len(failed)} runs did not succeed, e.g. {failed[:1]}")
        return rows

    async def latency(self, count: int) -> list[float]:
        """Enqueue-to-first-step of `count` runs created 5 ms apart, in ms."""
        run_ids = []
        for _ in range(count):
            run_ids.append(await self.create(send=True))
            await asyncio.sleep(0.005)
        await self.wait_finished(run_ids)
        rows = await self.outcomes(run_ids)
        return [_ms(row.first, row.created_at) for row in rows]

    async def throughput(self, count: int) -> float:
        """Runs/s of `count` runs whose jobs are all sent at once."""
        run_ids: list[uuid.UUID] = []

        async def creator(n: int) -> None:
            for _ in range(n):
                run_ids.append(await self.create(send=False))

        share = [count // CREATORS + (1 if i < count % CREATORS else 0) for i in range(CREATORS)]
        await asyncio.gather(*(creator(n) for n in share))
        started = datetime.now().astimezone()
        queue = self.resources.queue
        for chunk in range(0, count, 200):
            await asyncio.gather(
                *(queue.send(execute_job(r)) for r in run_ids[chunk : chunk + 200])
            )
        await self.wait_finished(run_ids)
        rows = await self.outcomes(run_ids)
        last = max(row.finished_at for row in rows)
        return count / ((last - started).total_seconds())


def _ms(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def set_up_user(base_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        sign_in(http, "runs@example.com")
        me = http.get("/api/v1/auth/me").raise_for_status().json()
        projects = http.get("/api/v1/projects").raise_for_status().json()["data"]
    personal = next(p["id"] for p in projects if p["is_personal"])
    return uuid.UUID(me["id"]), uuid.UUID(personal)


async def measure(
    env: dict[str, str], ids: tuple[uuid.UUID, uuid.UUID], args: argparse.Namespace
) -> list[tuple[float, float, float]]:
    os.environ.update(env)
    resources = Resources.create(Settings())
    await resources.queue.start()
    bench = Bench(resources, *ids)
    rows = []
    try:
        await bench.wait_finished([await bench.create(send=True)], timeout=60)  # worker ready
        for number in range(1, args.rounds + 1):
            latencies = await bench.latency(args.latency_runs)
            rate = await bench.throughput(args.throughput_runs)
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            info(
                f"round {number}: enqueue-to-start p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
                f"{rate:.0f} runs/s"
            )
            rows.append((p50, p99, rate))
    finally:
        await resources.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--throughput-runs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stop_servers_on_signals()
    try:
        with contextlib.ExitStack() as stack:
            env = orbiter_env(stack) | {"ORBITER_RATE_LIMITS_ENABLED": "false"}
            workdir = services.make_temp_dir(stack, "orbiter-bench-runs-")
            with contextlib.ExitStack() as server:
                base_url, _ = serve_orbiter(server, env, workdir=workdir)
                ids = set_up_user(base_url)
            argv = [sys.executable, "-m", "tests.runs.scripted_worker"]
            worker = start_process(stack, "worker", argv, env, workdir)
            info(f"one worker process (pid {worker.process.pid}) on Redis")
            rows = asyncio.run(measure(env, ids, args))
            if not worker.running():
                raise RuntimeError(f"the worker died:\n{services.log_tail(worker.log_path)}")
    except (RuntimeError, httpx.HTTPError, services.SetupError) as exc:
        print(f"[bench] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    p50, p99, rate = (statistics.median(column) for column in zip(*rows, strict=True))
    print()
    print(f"trivial runs on Redis, one worker process, median of {args.rounds} rounds:")
    print(f"  enqueue to first step, p50  {p50:8.1f} ms   (target < {P50_TARGET_MS:.0f} ms)")
    print(f"  enqueue to first step, p99  {p99:8.1f} ms")
    print(f"  throughput                  {rate:8.0f} runs/s (target >= {THROUGHPUT_TARGET:.0f})")
    ok = p50 < P50_TARGET_MS and rate >= THROUGHPUT_TARGET
    print(f"targets: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
