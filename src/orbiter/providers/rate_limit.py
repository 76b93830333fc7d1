"""The LLM rate-limit group (API.md §1.4): per user, per minute, by plan, on top of the general one."""

from __future__ import annotations

import uuid

from orbiter.auth.principal import Principal
from orbiter.core.ratelimit import Decision, per_minute
from orbiter.core.settings import Settings
from orbiter.runtime.resources import Resources


def llm_plan_limit(settings: Settings, plan: str) -> int:
    return {"pro": settings.rate_limit_llm_pro, "team": settings.rate_limit_llm_team}.get(
        plan, settings.rate_limit_llm_free
    )


async def _hit(resources: Resources, user_id: uuid.UUID, plan: str) -> tuple[Decision, int]:
    limit = llm_plan_limit(resources.settings, plan)
    return await resources.limiter.hit(per_minute(limit), "llm", f"user:{user_id}"), limit


async def count_llm_call(resources: Resources, *, user_id: uuid.UUID, plan: str) -> int:
    """Count one LLM call of a background run (no request, no principal): 0 when allowed, else
    the seconds until the window resets (the call was not counted; wait and call again)."""
    if not resources.limiter.enabled:
        return 0
    decision, limit = await _hit(resources, user_id, plan)
    if decision.allowed:
        return 0
    await resources.limiter.refund(per_minute(limit), "llm", f"user:{user_id}")
    return max(1, decision.reset_after)


async def enforce_llm_rate_limit(resources: Resources, principal: Principal) -> Decision | None:
    """Count one LLM call; 429 `RATE_LIMITED` with `Retry-After` when over the plan's limit.

    Returns the decision so the caller can send its `RateLimit-*` headers on success (they
    win over the general group's, which the middleware only adds when absent), or None when
    rate limits are switched off. Reads the settings at call time.
    """
    if not resources.limiter.enabled:
        return None
    decision, limit = await _hit(resources, principal.user_id, principal.plan)
    decision.raise_if_denied(
        f"Too many LLM requests: {limit} per minute on the {principal.plan} plan"
    )
    return decision
