"""Machine credentials: API keys (CI), bearer tokens (CLI), device authorizations (RFC 8628)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, CreatedAtMixin, IdMixin, one_of

# pending -> approved | denied; approved -> consumed when the token is issued
DEVICE_STATUSES = ("pending", "approved", "denied", "consumed")


class ApiKey(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class AccessToken(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "access_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_name: Mapped[str] = mapped_column(String(200))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class DeviceAuthorization(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "device_authorizations"
    __table_args__ = (
        Index("ix_device_authorizations_expires_at", "expires_at"),
        one_of("status", DEVICE_STATUSES),
    )

    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_code: Mapped[str] = mapped_column(String(16), unique=True)
    client_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    interval: Mapped[int] = mapped_column(Integer)
    last_polled_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
