"""The job queue: jobs with ids, sent after the transaction that made them commits.

A job is a name and a JSON payload. Handlers are registered by name (`queue.register`); the
process that consumes the queue runs them. Jobs must be idempotent: a job can arrive twice
(a worker died before acknowledging it, or the resend tick sent it again), so a handler
checks its row before doing anything (e.g. a run job does nothing for a finished run).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger("orbiter.queue")

Handler = Callable[[dict[str, Any]], Awaitable[None]]
PENDING_KEY = "orbiter.queue.pending"


@dataclass(frozen=True)
class Job:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


class JobQueue(Protocol):
    """Sends jobs; in a consuming process, runs the registered handlers."""

    @property
    def in_process(self) -> bool:
        """True when jobs run in the process that sends them (the embedded broker)."""
        ...

    def register(self, name: str, handler: Handler) -> None: ...
    async def start(self) -> None: ...
    async def send(self, job: Job) -> None: ...
    async def consume(self, stop: asyncio.Event) -> None:
        """Run the handlers of received jobs until `stop` is set."""
        ...

    async def claim_once(self, key: str, ttl_seconds: int) -> bool:
        """True for exactly one caller per key (across processes on Redis) within the ttl."""
        ...

    async def record_periodic(self, name: str, slot: int, ok: bool, seconds: float) -> None:
        """Note that this process ran periodic job `name` for tick `slot` (Redis: the
        `orbiter:periodic` stream, shared by all workers)."""
        ...

    async def ping(self) -> None:
        """Reach the broker (Redis: PING); nothing to reach in process."""
        ...

    async def close(self) -> None: ...


def after_commit(db: AsyncSession, job: Job) -> None:
    """Send `job` once the session's transaction commits (the request's `DbSession` and
    `send_pending` do); nothing is sent when it rolls back."""
    db.info.setdefault(PENDING_KEY, []).append(job)


def drop_pending(db: AsyncSession) -> list[Job]:
    """The jobs collected on the session, removed from it."""
    jobs: list[Job] = db.info.pop(PENDING_KEY, [])
    return jobs


async def send_pending(queue: JobQueue, db: AsyncSession) -> None:
    """Send what `after_commit` collected; call it after a successful commit.

    A send that fails is logged, not raised: the data is committed, and the owner of the job
    recovers it (the runs table is the outbox: a tick sends `queued` runs again).
    """
    for job in drop_pending(db):
        try:
            await queue.send(job)
        except Exception:
            logger.warning("could not send job %s (%s); it will be sent again", job.id, job.name)
