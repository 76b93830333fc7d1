"""Waveform files (VCD, FST, GHW) a user uploaded: metadata and hierarchy; the bytes are in
the blob store under `waveforms/`, named by their SHA-256."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, IdMixin, TimestampMixin, one_of

WAVEFORM_FORMATS = ("vcd", "fst", "ghw")


class Waveform(IdMixin, TimestampMixin, Base):
    __tablename__ = "waveforms"
    __table_args__ = (
        Index("ix_waveforms_user_id_created_at_id", "user_id", "created_at", "id"),
        one_of("format", WAVEFORM_FORMATS),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    timescale: Mapped[str | None] = mapped_column(String(32))
    start_time: Mapped[int | None] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger)
    signal_count: Mapped[int] = mapped_column(Integer)
    hierarchy: Mapped[dict[str, Any]]
