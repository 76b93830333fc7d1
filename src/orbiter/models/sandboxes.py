"""Sandboxes: a user's isolated work dir on one host, with the directory its terminal is in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, CreatedAtMixin, IdMixin


class Sandbox(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "sandboxes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    template: Mapped[str] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(255))  # the host whose data dir holds its files
    cwd: Mapped[str] = mapped_column(String(4096))  # where the next terminal command starts
    expires_at: Mapped[datetime] = mapped_column(index=True)
