"""LLM providers a user configured, conversations and their messages."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, IdMixin, TimestampMixin, one_of, only_one_where

PROVIDER_TYPES = ("openai", "anthropic", "openai_compatible", "ollama")
MESSAGE_ROLES = ("user", "assistant", "system", "tool")
MESSAGE_STATUSES = ("complete", "streaming", "incomplete", "error")
# A reply that used tokens outside a run (a run's calls are its spans): /monitoring/costs
# reads such replies at the partial hours of its window through this index.
REPLY_USAGE = "(run_id IS NULL) AND ((prompt_tokens > 0) OR (completion_tokens > 0))"


class LlmProvider(IdMixin, TimestampMixin, Base):
    __tablename__ = "llm_providers"
    __table_args__ = (
        UniqueConstraint("user_id", "name", name="uq_llm_providers_user_id_name"),
        only_one_where("uq_llm_providers_one_default", "user_id", "is_default"),
        one_of("type", PROVIDER_TYPES),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str | None] = mapped_column(Text)
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    api_key_last4: Mapped[str | None] = mapped_column(String(4))
    models: Mapped[list[str]] = mapped_column(default=list)
    is_default: Mapped[bool] = mapped_column(default=False)
    # Per-model prices overriding runs/prices.json: {model: {"input", "output"}} USD per 1M tokens.
    prices: Mapped[dict[str, Any] | None]
    # The OpenAI-style `/embeddings` model knowledge bases use (orbiter.knowledge.embeddings),
    # and the vector length to ask for (null: the model's own).
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    embedding_dimensions: Mapped[int | None] = mapped_column(Integer)


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_updated_at_id", "updated_at", "id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str | None] = mapped_column(String(300))
    provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("llm_providers.id", ondelete="SET NULL")
    )
    model: Mapped[str | None] = mapped_column(String(200))


class Message(IdMixin, TimestampMixin, Base):
    """One turn. `status` is `complete`, `streaming`, `incomplete` or `error`.

    `updated_at` moves while a reply streams (its text is flushed, or its runner touches it),
    so a `streaming` row left untouched for a while belongs to a process that is gone.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id_created_at_id", "conversation_id", "created_at", "id"),
        Index(
            "ix_messages_usage",
            "created_at",
            postgresql_where=text(REPLY_USAGE),
            sqlite_where=text(REPLY_USAGE),
        ),
        one_of("role", MESSAGE_ROLES),
        one_of("status", MESSAGE_STATUSES),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    parts: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="complete")
    error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("llm_providers.id", ondelete="SET NULL")
    )
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    # A reply outside a run: its price (None when the model has none) and the provider's type
    # at the time, as a span records them (usage_rollups holds the same under kind "chat").
    cost: Mapped[float | None] = mapped_column(Float)
    provider_type: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # An agent's reply: the run writing it (its status follows the run, not a stream).
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
