"""Content-addressed objects (blobs and manifests), who may see them, and the
snapshots, workspaces and drift reports built on them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import (
    Base,
    CreatedAtMixin,
    IdMixin,
    TimestampMixin,
    one_of,
    only_one_where,
)

OBJECT_KINDS = ("blob", "manifest")
DRIFT_KINDS = ("reported", "compare")


class StoredObject(CreatedAtMixin, Base):
    """One object in the blob store, stored once whoever uploaded it."""

    __tablename__ = "stored_objects"
    __table_args__ = (one_of("kind", OBJECT_KINDS),)

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class ObjectOwner(CreatedAtMixin, Base):
    """A user who proved possession of an object by uploading its bytes."""

    __tablename__ = "object_owners"
    __table_args__ = (
        ForeignKeyConstraint(
            ["kind", "hash"],
            ["stored_objects.kind", "stored_objects.hash"],
            ondelete="CASCADE",
            name="fk_object_owners_kind_hash_stored_objects",
        ),
        Index("ix_object_owners_kind_hash", "kind", "hash"),
        one_of("kind", OBJECT_KINDS),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class Workspace(IdMixin, TimestampMixin, Base):
    """A working copy of a project on some machine; `version` guards its current manifest."""

    __tablename__ = "workspaces"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_workspaces_project_id_name"),
        Index("ix_workspaces_project_id_created_at", "project_id", "created_at"),
        only_one_where("uq_workspaces_one_main", "project_id", "is_main"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    machine_id: Mapped[str | None] = mapped_column(String(200))
    local_path: Mapped[str | None] = mapped_column(Text)
    is_main: Mapped[bool] = mapped_column(default=False)
    # Snapshot ids without foreign keys: snapshots point at workspaces too, and a cycle of
    # foreign keys would complicate deletes. Services check them on write.
    base_snapshot_id: Mapped[uuid.UUID | None]
    last_merged_snapshot_id: Mapped[uuid.UUID | None]
    current_manifest_hash: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class Snapshot(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "snapshots"
    __table_args__ = (
        Index("ix_snapshots_project_id_created_at_id", "project_id", "created_at", "id"),
        Index("ix_snapshots_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    manifest_hash: Mapped[str] = mapped_column(String(64), index=True)
    parent_snapshot_ids: Mapped[list[str]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(32), default="cli")
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class DriftReport(IdMixin, CreatedAtMixin, Base):
    """A drift measurement: reported by a CLI (`kind="reported"`) or computed by a compare."""

    __tablename__ = "drift_reports"
    __table_args__ = (
        Index("ix_drift_reports_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        one_of("kind", DRIFT_KINDS),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    source_workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    files_added: Mapped[int] = mapped_column(Integer, default=0)
    files_modified: Mapped[int] = mapped_column(Integer, default=0)
    files_deleted: Mapped[int] = mapped_column(Integer, default=0)
    bytes_changed: Mapped[int] = mapped_column(BigInteger, default=0)
    summary: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class EnvVar(IdMixin, TimestampMixin, Base):
    """A project's environment variable; the value is AES-GCM ciphertext (core/crypto)."""

    __tablename__ = "env_vars"
    __table_args__ = (UniqueConstraint("project_id", "key", name="uq_env_vars_project_id_key"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(256))
    value_encrypted: Mapped[str] = mapped_column(Text)
    is_secret: Mapped[bool] = mapped_column(default=True)
