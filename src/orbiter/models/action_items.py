"""Action items: findings of the analyzer over a workspace's files (stored), dismissals of any
item (stored and computed kinds alike), and the analyses that produced the findings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

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


class ActionItemRun(IdMixin, CreatedAtMixin, Base):
    """A coding agent's attempt at an item: a patch against `base_manifest_hash`.

    `status`: `queued`, `running`, `ready` (a patch to apply), `failed`, `applied`. `changes`
    keeps per changed path the base content hash and the new one (None: deleted); the new
    contents are blobs of the run's user. `run_id` is the engine's run doing the work.
    """

    __tablename__ = "action_item_runs"
    __table_args__ = (Index("ix_action_item_runs_item_id_created_at", "item_id", "created_at"),)

    item_id: Mapped[uuid.UUID]
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    item: Mapped[dict[str, Any]]  # the item as it was when the run started
    base_manifest_hash: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    patch: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[list[Any]] = mapped_column(default=list)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    applied_manifest_hash: Mapped[str | None] = mapped_column(String(64))
