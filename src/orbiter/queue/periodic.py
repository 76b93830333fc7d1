"""Periodic jobs: each runs once per tick, however many processes run the ticker.

Ticks are slots of wall-clock time (`every` seconds since the epoch), so every process agrees
on them; the first process to claim a slot (`queue.claim_once`: a Redis `SET NX` per job per
tick, a dict embedded) runs it and the others skip it. Registering one is one line:

    Periodic("runs.reap", 5, partial(reap_lost_runs, resources))

A job still running when its next tick comes is not started twice in the same process; a
failure is logged and the next tick runs it again. Each run is recorded
(`queue.record_periodic`): on Redis, in the stream `orbiter:periodic` (job, tick, worker,
ok, seconds; the last thousand), so an operator sees which worker ran what and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from orbiter.queue.base import JobQueue

logger = logging.getLogger("orbiter.queue")
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Periodic:
    name: str
    every: float  # seconds
    run: Callable[[], Awaitable[object]]


class Ticker:
    def __init__(self, queue: JobQueue, jobs: Sequence[Periodic]) -> None:
        self._queue = queue
        self._jobs = list(jobs)
        self._last: dict[str, int] = {}
        self._running: dict[str, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Start each job on each of its ticks this process claims, until `stop` is set."""
        try:
            while not stop.is_set():
                await self.tick(time.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        finally:
            await self.stop()

    async def tick(self, now: float) -> None:
        for job in self._jobs:
            slot = math.floor(now / job.every)
            if self._last.get(job.name) == slot:
                continue
            self._last[job.name] = slot
            running = self._running.get(job.name)
            if running is not None and not running.done():
                continue
            if await self._claim(job, slot):
                self._running[job.name] = asyncio.create_task(
                    self._run(job, slot), name=f"periodic-{job.name}"
                )

    async def _claim(self, job: Periodic, slot: int) -> bool:
        try:
            return await self._queue.claim_once(
                f"tick:{job.name}:{slot}", max(1, math.ceil(job.every * 2))
            )
        except Exception:
            logger.warning("could not claim the tick of %s; skipping it", job.name)
            return False

    async def _run(self, job: Periodic, slot: int) -> None:
        started = time.monotonic()
        ok = False
        try:
            await job.run()
            ok = True
        except Exception:
            logger.exception("periodic job %s failed", job.name)
        try:
            await self._queue.record_periodic(job.name, slot, ok, time.monotonic() - started)
        except Exception:
            logger.warning("could not record the run of periodic job %s", job.name)

    async def stop(self) -> None:
        tasks = [task for task in self._running.values() if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
