"""The GitHub proxy's rate-limit group (API.md §1.4): per user, per minute, on top of the
general one."""

from __future__ import annotations

from orbiter.auth.principal import Principal
from orbiter.core.ratelimit import Decision, per_minute
from orbiter.runtime.resources import Resources


async def enforce_github_rate_limit(resources: Resources, principal: Principal) -> Decision | None:
    """Count one GitHub request; 429 with `Retry-After` when over. The decision's headers are
    the response's (None when rate limits are off)."""
    if not resources.limiter.enabled:
        return None
    limit = resources.settings.rate_limit_github
    decision = await resources.limiter.hit(per_minute(limit), "github", f"user:{principal.user_id}")
    decision.raise_if_denied(f"Too many GitHub requests: {limit} per minute")
    return decision
