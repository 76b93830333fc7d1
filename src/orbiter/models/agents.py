"""Agents and the custom tools they can call; both belong to a project.

Built-in tools (calculator, current_time, http_request, ask_user...) are code, not rows:
`orbiter.tools.registry` lists them. An agent's `tool_ids` names built-ins by name and custom
tools by id.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, IdMixin, TimestampMixin, one_of

TOOL_TYPES = ("http", "code")


class Tool(IdMixin, TimestampMixin, Base):
    """A custom tool. `config` holds everything but secret header values, which are sealed
    together in `secrets_encrypted` (a JSON object, AES-GCM bound to the tool's id)."""

    __tablename__ = "tools"
    __table_args__ = (
        UniqueConstraint("project_id", "name", name="uq_tools_project_id_name"),
        Index("ix_tools_created_at_id", "created_at", "id"),
        one_of("type", TOOL_TYPES),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    input_schema: Mapped[dict[str, Any]]
    config: Mapped[dict[str, Any]]
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)


class Agent(IdMixin, TimestampMixin, Base):
    """An agent: instructions, a model, tools. `version` grows with every change, and a run
    records the version it ran."""

    __tablename__ = "agents"
    __table_args__ = (Index("ix_agents_created_at_id", "created_at", "id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[str] = mapped_column(Text)
    provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("llm_providers.id", ondelete="SET NULL")
    )
    model: Mapped[str | None] = mapped_column(String(200))
    tool_ids: Mapped[list[str]] = mapped_column(default=list)
    knowledge_base_ids: Mapped[list[str]] = mapped_column(default=list)
    temperature: Mapped[float | None]
    max_steps: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1)
