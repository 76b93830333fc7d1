"""Which embedding model a user's knowledge bases use, and telling the knowledge bases when it
changes.

The model is the default provider's `embedding_model`, else the oldest provider's that has one.
A provider change (create, update, delete, a new default) that changes the user's
(provider, model, dimensions) sends `EMBEDDING_CHANGED_JOB` after the request commits; the
knowledge worker re-embeds the chunks that another model embedded (`orbiter.knowledge.reembed`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.models import LlmProvider
from orbiter.queue import Job, after_commit

EMBEDDING_CHANGED_JOB = "knowledge.embedding_changed"

Embedding = tuple[uuid.UUID, str, int | None] | None  # provider, model, dimensions


def _chosen(user_id: uuid.UUID, *columns: Any) -> Select[Any]:
    return (
        select(*columns)
        .where(LlmProvider.user_id == user_id, LlmProvider.embedding_model.is_not(None))
        .order_by(LlmProvider.is_default.desc(), LlmProvider.created_at, LlmProvider.id)
        .limit(1)
    )


async def embedding_provider(db: AsyncSession, user_id: uuid.UUID) -> LlmProvider | None:
    """The provider whose embedding model the user's documents are embedded with, if any."""
    row: LlmProvider | None = await db.scalar(_chosen(user_id, LlmProvider))
    return row


async def current_embedding(db: AsyncSession, user_id: uuid.UUID) -> Embedding:
    """The user's (provider, model, dimensions) as stored now (the session's changes flushed)."""
    await db.flush()
    found = await db.execute(
        _chosen(
            user_id,
            LlmProvider.id,
            LlmProvider.embedding_model,
            LlmProvider.embedding_dimensions,
        )
    )
    row = found.first()
    return None if row is None else (row[0], row[1], row[2])


async def announce_if_changed(db: AsyncSession, user_id: uuid.UUID, before: Embedding) -> None:
    """Send the re-embedding job after commit when the user's embedding model changed to
    another one (none: search is full-text, nothing to re-embed)."""
    after = await current_embedding(db, user_id)
    if after is not None and (before is None or before[1:] != after[1:]):
        after_commit(db, Job(EMBEDDING_CHANGED_JOB, {"user_id": str(user_id)}))
