from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import (
    Base,
    CreatedAtMixin,
    IdMixin,
    TimestampMixin,
    one_of,
    only_one_where,
)


class Role(StrEnum):
    """A member's role in a project, in ascending power."""

    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"

    def at_least(self, needed: Role) -> bool:
        return ROLE_ORDER.index(self) >= ROLE_ORDER.index(needed)


ROLE_ORDER = (Role.VIEWER, Role.EDITOR, Role.OWNER)


def _role_column() -> Enum:
    return Enum(
        Role, native_enum=False, length=16, values_callable=lambda roles: [r.value for r in roles]
    )


class Project(IdMixin, TimestampMixin, Base):
    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_updated_at_id", "updated_at", "id"),
        only_one_where("uq_projects_one_personal", "created_by", "is_personal"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    is_personal: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class ProjectMember(CreatedAtMixin, Base):
    __tablename__ = "project_members"
    __table_args__ = (one_of("role", [role.value for role in Role]),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[Role] = mapped_column(_role_column())


class ProjectInvitation(IdMixin, CreatedAtMixin, Base):
    """An owner's invitation of an email address, pending until that account accepts it.

    Whether an account with the email exists is never looked up when inviting."""

    __tablename__ = "project_invitations"
    __table_args__ = (
        UniqueConstraint("project_id", "email"),
        one_of("role", [role.value for role in Role]),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[Role] = mapped_column(_role_column())
    invited_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime]


class Event(IdMixin, CreatedAtMixin, Base):
    """Project activity; later domains (snapshots, workspaces, runs) write here too."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_project_id_created_at", "project_id", "created_at"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
