"""Infrastructure: a user's credential per deploy provider, and a project's provisioned
resources (databases, caches) with their connection info encrypted at rest."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, IdMixin, TimestampMixin


class InfraCredential(IdMixin, TimestampMixin, Base):
    """One per provider per user; the token is AES-GCM sealed (`infrastructure.credentials`)."""

    __tablename__ = "infrastructure_credentials"
    __table_args__ = (UniqueConstraint("user_id", "provider"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(40))
    token_encrypted: Mapped[str] = mapped_column(Text)
    # Non-secret settings the user sent (e.g. `host` for GitHub Enterprise).
    settings: Mapped[dict[str, Any]]
    # What the provider said about the token when it was validated (e.g. the GitHub login).
    account: Mapped[dict[str, Any]]


class InfraResource(IdMixin, TimestampMixin, Base):
    """A resource a provider made for a project; `connection_encrypted` holds the secrets
    (URLs with passwords), `details` what may be shown (a database number, a file name)."""

    __tablename__ = "infrastructure_resources"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    provider: Mapped[str] = mapped_column(String(40))
    resource_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any]]
    connection_encrypted: Mapped[str] = mapped_column(Text)
