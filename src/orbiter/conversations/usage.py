"""The usage of a conversation reply outside a run (a run's LLM calls are its spans): priced
like a span and added to its hour's row of `usage_rollups` under kind "chat", so
/monitoring/costs counts conversations too."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.time import as_utc
from orbiter.llm.base import Usage
from orbiter.models import Conversation, LlmProvider
from orbiter.models.runs import NO_TARGET
from orbiter.runs import prices, store

CHAT_KIND = "chat"


def priced(provider: LlmProvider, model: str, usage: Usage) -> dict[str, Any]:
    """The message columns that record what the reply cost."""
    spent = prices.cost(
        provider.type, model, usage.prompt_tokens, usage.completion_tokens, provider.prices
    )
    return {"cost": spent, "provider_type": provider.type}


async def add_reply_usage(
    db: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    created_at: datetime,
    model: str,
    usage: Usage,
    recorded: dict[str, Any],
) -> None:
    """Add the reply (whose `priced` columns are `recorded`) to its hour's rollup row."""
    if usage.prompt_tokens <= 0 and usage.completion_tokens <= 0:
        return
    project_id = await db.scalar(
        select(Conversation.project_id).where(Conversation.id == conversation_id)
    )
    if project_id is None:
        return
    await store.add_usage(
        await db.connection(),
        project_id=project_id,
        hour=as_utc(created_at).replace(minute=0, second=0, microsecond=0),
        kind=CHAT_KIND,
        target_id=NO_TARGET,
        provider=recorded["provider_type"] or "",
        model=model,
        priced=recorded["cost"] is not None,
        tokens_in=usage.prompt_tokens,
        tokens_out=usage.completion_tokens,
        cost=recorded["cost"] or 0.0,
    )
