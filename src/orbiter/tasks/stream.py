"""`GET /tasks/{id}/logs`: the task's log lines as Server-Sent Events, replayed from the
start (or after `Last-Event-ID`, a line's `seq`), then followed as they are written until
the task ends (an `end` event with its status). Lines are rows, so any replica can follow
any task: the stream reads the new ones a few times a second."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import select

from orbiter.core.db import transaction
from orbiter.core.errors import BadRequest
from orbiter.core.sse import format_comment, format_sse
from orbiter.models import Run, TaskLog
from orbiter.models.runs import FINISHED_STATUSES
from orbiter.runtime.resources import Resources
from orbiter.tasks.schemas import STATUS_OF_RUN, TaskLogLine

POLL_SECONDS = 0.25
KEEPALIVE_POLLS = 60  # a comment every 15 s while nothing happens
BATCH = 500


def after_seq(last_event_id: str | None) -> int:
    """The seq a `Last-Event-ID` names (0 without one, or an empty one); 400 when it is not one."""
    if not last_event_id or not last_event_id.strip():
        return 0
    try:
        seq = int(last_event_id.strip())
    except ValueError:
        seq = -1
    if seq < 0:
        raise BadRequest(
            "Invalid Last-Event-ID; expected a line's seq as sent in the stream",
            details={"field": "Last-Event-ID"},
        )
    return seq


async def log_events(
    resources: Resources, task_id: uuid.UUID, run_id: uuid.UUID, after: int
) -> AsyncIterator[bytes]:
    last, quiet = after, 0
    while True:
        async with transaction(resources.sessionmaker) as db:
            status = await db.scalar(select(Run.status).where(Run.id == run_id))
            lines = (
                await db.scalars(
                    select(TaskLog)
                    .where(TaskLog.task_id == task_id, TaskLog.seq > last)
                    .order_by(TaskLog.seq)
                    .limit(BATCH)
                )
            ).all()
        for line in lines:
            data = TaskLogLine.model_validate(line, from_attributes=True).model_dump(mode="json")
            yield format_sse("log", data, id=str(line.seq))
            last = line.seq
        if lines:
            quiet = 0
            continue
        if status is None or status in FINISHED_STATUSES:
            ended = STATUS_OF_RUN.get(status, "cancelled") if status else "deleted"
            yield format_sse("end", {"status": ended})
            return
        quiet += 1
        if quiet % KEEPALIVE_POLLS == 0:
            yield format_comment("keep-alive")
        await asyncio.sleep(POLL_SECONDS)
