"""Action items: findings of the analyzer over a workspace's files (stored), dismissals of any
item (stored and computed kinds alike), and the analyses that produced the findings."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, CreatedAtMixin, IdMixin


class ActionItemAnalysis(IdMixin, CreatedAtMixin, Base):
    """One analysis of one workspace's manifest: `pending`, `running`, `done` or `failed`."""

    __tablename__ = "action_item_analyses"
    __table_args__ = (
        UniqueConstraint(
            "workspace_id", "manifest_hash", name="uq_action_item_analyses_workspace_id"
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    manifest_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]


class ActionItem(IdMixin, CreatedAtMixin, Base):
    """A stored finding (security, test coverage, refactoring) in a workspace's files.

    `fingerprint` names the finding independently of line numbers, so a later analysis that
    finds it again keeps this row (and its dismissal); one that does not removes it.
    """

    __tablename__ = "action_items"
    __table_args__ = (
        UniqueConstraint("workspace_id", "fingerprint", name="uq_action_items_workspace_id"),
        Index("ix_action_items_project_id", "project_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    manifest_hash: Mapped[str] = mapped_column(String(64))


class ActionItemDismissal(CreatedAtMixin, Base):
    """A dismissed item, by its id (stored or computed); `created_at` is when."""

    __tablename__ = "action_item_dismissals"

    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    dismissed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
