"""Workflows (a canvas of nodes and edges) and the immutable versions their saves keep.

A workflow belongs to a project. `canvas` is the current canvas and `version` the number of
the version holding it; each save that changes the nodes or edges adds a `WorkflowVersion`
(numbered 1, 2, ... with the SHA-256 of the canonical canvas), so a run can name exactly what
it ran whatever is saved later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.core.time import utcnow
from orbiter.models.base import Base, IdMixin, TimestampMixin


class Workflow(IdMixin, TimestampMixin, Base):
    __tablename__ = "workflows"
    __table_args__ = (Index("ix_workflows_created_at_id", "created_at", "id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    canvas: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(default=1)
    # What the current canvas's trigger asks of the scheduler and the webhook route, kept
    # beside the canvas so that both find their workflows with an index.
    trigger_type: Mapped[str] = mapped_column(String(32), default="manual", server_default="manual")
    webhook_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    schedule_cron: Mapped[str | None] = mapped_column(String(200))
    schedule_timezone: Mapped[str | None] = mapped_column(String(64))
    schedule_next_at: Mapped[datetime | None] = mapped_column(index=True)


class WorkflowVersion(IdMixin, Base):
    """One saved canvas of a workflow; never changed once written."""

    __tablename__ = "workflow_versions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "version", name="uq_workflow_versions_workflow_id_version"),
    )

    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    canvas: Mapped[dict[str, Any]]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
