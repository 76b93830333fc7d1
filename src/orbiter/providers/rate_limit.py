"""The LLM rate-limit group (API.md §1.4): per user, per minute, by plan, on top of the general one."""

from __future__ import annotations

from orbiter.auth.principal import Principal
from orbiter.core.ratelimit import Decision, per_minute
from orbiter.core.settings import Settings
from orbiter.runtime.resources import Resources


def llm_plan_limit(settings: Settings, plan: str) -> int:
    return {"pro": settings.rate_limit_llm_pro, "team": settings.rate_limit_llm_team}.get(
        plan, settings.rate_limit_llm_free
    )


async def enforce_llm_rate_limit(resources: Resources, principal: Principal) -> Decision | None:
    """Count one LLM call; 429 `RATE_LIMITED` with `Retry-After` when over the plan's limit.

    Returns the decision so the caller can send its `RateLimit-*` headers on success (they
    win over the general group's, which the middleware only adds when absent), or None when
    rate limits are switched off. Reads the settings at call time.
    """
    limiter = resources.limiter
    if not limiter.enabled:
        return None
    limit = llm_plan_limit(resources.settings, principal.plan)
    decision = await limiter.hit(per_minute(limit), "llm", f"user:{principal.user_id}")
    decision.raise_if_denied(
        f"Too many LLM requests: {limit} per minute on the {principal.plan} plan"
    )
    return decision
