"""LLM calls made for a project outside runs and conversation replies: the optional help of
sync and drift analysis, a conversation's snapshot summary, the project knowledge routes.

Each is priced like a span, recorded in `llm_calls` and added to its hour's `usage_rollups`
row under kind `assist`, in the caller's transaction, so /monitoring/costs and the alerts'
`cost` measure count it (whole hours from the rollup, the edges from `llm_calls`)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.time import utcnow
from orbiter.llm.base import Usage
from orbiter.models import LlmCall, LlmProvider
from orbiter.models.runs import NO_TARGET
from orbiter.runs import prices, store

ASSIST_KIND = "assist"


async def record_llm_call(
    db: AsyncSession,
    *,
    project_id: uuid.UUID,
    user_id: uuid.UUID | None,
    purpose: str,
    provider: LlmProvider,
    model: str,
    usage: Usage,
) -> None:
    if usage.prompt_tokens <= 0 and usage.completion_tokens <= 0:
        return
    spent = prices.cost(
        provider.type, model, usage.prompt_tokens, usage.completion_tokens, provider.prices
    )
    now = utcnow()
    db.add(
        LlmCall(
            project_id=project_id,
            user_id=user_id,
            purpose=purpose,
            provider_type=provider.type,
            model=model,
            tokens_in=usage.prompt_tokens,
            tokens_out=usage.completion_tokens,
            cost=spent,
            created_at=now,
        )
    )
    await store.add_usage(
        await db.connection(),
        project_id=project_id,
        hour=now.replace(minute=0, second=0, microsecond=0),
        kind=ASSIST_KIND,
        target_id=NO_TARGET,
        provider=provider.type,
        model=model,
        priced=spent is not None,
        tokens_in=usage.prompt_tokens,
        tokens_out=usage.completion_tokens,
        cost=spent or 0.0,
    )
