"""Wiping the app's shared state between tests: test-only, production has no such method.

On the services backend the run's Redis is a throwaway server (scripts/run_tests.py starts
it), so the tests flush its database themselves; embedded, the in-memory stores are replaced
by fresh ones (the app reads `resources.kv` and `resources.limiter` on every request).
"""

from __future__ import annotations

from redis.asyncio import Redis

from orbiter.core.kv import MemoryKeyValueStore
from orbiter.core.ratelimit import KEY_PREFIX, RateLimiter
from orbiter.runtime.resources import Resources


async def wipe_shared_state(resources: Resources) -> None:
    """No sessions, no short-lived keys and no rate-limit windows left."""
    url = resources.settings.redis_url
    if url:
        async with Redis.from_url(url) as redis:
            await redis.flushdb()
        return
    resources.kv = MemoryKeyValueStore()
    await fresh_rate_limits(resources)


async def fresh_rate_limits(resources: Resources) -> None:
    """Every rate-limit window starts again; sessions stay."""
    url = resources.settings.redis_url
    if url:
        async with Redis.from_url(url) as redis:
            keys = [key async for key in redis.scan_iter(match=KEY_PREFIX + "*", count=1000)]
            if keys:
                await redis.delete(*keys)
        return
    old = resources.limiter
    resources.limiter = RateLimiter(None, enabled=old.enabled)
    await old.close()
