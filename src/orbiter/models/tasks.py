"""Tasks: a coding agent's background run on a git repository, and its log lines.

A task's status is its run's (runs.status), read through `run_id`: the run engine owns it
(queued, running, cancelled, failed when its worker is lost...). The task keeps what is its
own: the request, the chosen provider and model, progress, the branch, the commit, whether
it was pushed, the sandbox its files are in, and its log (one row per line, numbered).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.core.time import utcnow
from orbiter.models.base import Base, IdMixin, TimestampMixin, one_of

TASK_LOG_TYPES = ("info", "command", "error", "success")


class Task(IdMixin, TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_user_id_created_at_id", "user_id", "created_at", "id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), unique=True
    )
    prompt: Mapped[str] = mapped_column(Text)
    repo_url: Mapped[str] = mapped_column(String(2048))
    selected_agent: Mapped[str | None] = mapped_column(String(255))
    selected_model: Mapped[str | None] = mapped_column(String(255))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("llm_providers.id", ondelete="SET NULL")
    )
    model: Mapped[str] = mapped_column(String(255))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    branch_name: Mapped[str | None] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    pushed: Mapped[bool] = mapped_column(default=False)
    sandbox_id: Mapped[uuid.UUID | None]  # no key: the sandbox row goes when it expires


class TaskLog(Base):
    __tablename__ = "task_logs"
    __table_args__ = (
        UniqueConstraint("task_id", "seq", name="uq_task_logs_task_id_seq"),
        one_of("type", TASK_LOG_TYPES),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per task
    type: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
