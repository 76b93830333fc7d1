from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, IdMixin, TimestampMixin, one_of

PLANS = ("free", "pro", "team")


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (one_of("plan", PLANS),)

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    picture: Mapped[str | None] = mapped_column(String(2048))
    password_hash: Mapped[str | None] = mapped_column(String(512))
    google_sub: Mapped[str | None] = mapped_column(String(255), unique=True)
    plan: Mapped[str] = mapped_column(String(20), default="free")
