"""Starting a run in a transaction of its own, and waiting (bounded) for it to end.

For routes with `?wait=true` (a deployment's invoke, a CI workflow run): the run must be
committed and its job sent before anyone can wait for it, so these routes do not use the
request's `DbSession` (committed only after the route returns) but `start_committed`.
The wait follows the run's events (`runs.events.follow`, on any replica) rather than polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import transaction
from orbiter.core.errors import NotFound
from orbiter.models import Run
from orbiter.queue import send_pending
from orbiter.runs import events
from orbiter.runtime.resources import Resources


async def start_committed(
    resources: Resources, start: Callable[[AsyncSession], Awaitable[Run]]
) -> Run:
    """`start(db)` in a transaction that commits here; the run's job is sent right after."""
    async with transaction(resources.sessionmaker) as db:
        run = await start(db)
    await send_pending(resources.queue, db)
    return run


async def wait_for_run(resources: Resources, run_id: uuid.UUID, seconds: float) -> Run:
    """The run once it ended or paused (awaiting input or approval), or as it is after
    `seconds`: the caller tells which by its `status`. The run must be committed."""
    stream = events.follow(resources, run_id)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds), contextlib.aclosing(stream):
            async for item in stream:
                if item is not None and item.stopping:
                    break
    async with transaction(resources.sessionmaker) as db:
        run = await db.get(Run, run_id)
    if run is None:
        raise NotFound("Run not found")
    return run
