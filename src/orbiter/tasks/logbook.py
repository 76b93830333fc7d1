"""A task's log lines and progress, written as the task goes (each in its own transaction,
so followers on any replica read them at once)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from orbiter.core.db import transaction
from orbiter.core.time import utcnow
from orbiter.models import Task, TaskLog
from orbiter.runtime.resources import Resources

MAX_LINE_CHARS = 4000
MAX_LINES = 2000  # per task; later lines are dropped (the last one says so)


class Logbook:
    def __init__(self, resources: Resources, task_id: uuid.UUID) -> None:
        self.resources = resources
        self.task_id = task_id
        self._seq: int | None = None

    async def line(self, type: str, message: str) -> None:
        async with transaction(self.resources.sessionmaker) as db:
            if self._seq is None:
                last = await db.scalar(
                    select(func.max(TaskLog.seq)).where(TaskLog.task_id == self.task_id)
                )
                self._seq = int(last or 0)
            if self._seq >= MAX_LINES:
                return
            self._seq += 1
            if self._seq == MAX_LINES:
                type, message = "info", "(the log is full: later lines are not kept)"
            text = message if len(message) <= MAX_LINE_CHARS else message[:MAX_LINE_CHARS] + "…"
            db.add(TaskLog(task_id=self.task_id, seq=self._seq, type=type, message=text))

    async def update(self, **values: object) -> None:
        """Set the task's own columns (progress, branch_name, sandbox_id...)."""
        async with transaction(self.resources.sessionmaker) as db:
            await db.execute(
                update(Task)
                .where(Task.id == self.task_id)
                .values(**values, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
