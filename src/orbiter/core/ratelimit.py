"""Rate limits (API.md §1.4): fixed windows counted in Redis for real, in memory embedded.

On Redis one registered Lua script counts a hit and reads the window (count and time to
reset) in one round trip; embedded, the `limits` library's memory storage keeps the windows.
Every store error is logged and counted (`RateLimiter.errors`) before it becomes a 503 or,
for the general limit when configured so, an unlimited pass.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.errors import StorageError
from redis.exceptions import RedisError

from orbiter.core.errors import RateLimited, ServiceUnavailable
from orbiter.core.kv import redis_client

logger = logging.getLogger(__name__)
KEY_PREFIX = "orbiter:ratelimit:"

# KEYS[1] the window's counter; ARGV[1] the window in seconds; ARGV[2] the cost (negative:
# give back a reserved attempt).
# Returns {count in this window, milliseconds until it resets}.
WINDOW_SCRIPT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1]) * 1000
end
return {count, ttl}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window resets

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_after))
        return headers

    def raise_if_denied(self, message: str = "Too many requests, slow down") -> None:
        if not self.allowed:
            raise RateLimited(
                message, headers=self.headers(), details={"retry_after": self.reset_after}
            )


def per_minute(count: int) -> RateLimitItem:
    return RateLimitItemPerMinute(count)


def per_seconds(count: int, seconds: int) -> RateLimitItem:
    return RateLimitItemPerSecond(count, seconds)


class WindowCounters(Protocol):
    async def count(self, key: str, window_seconds: int, cost: int) -> tuple[int, float]:
        """Add `cost` to the window; (count in it, seconds until it resets)."""

    async def close(self) -> None: ...


class RedisCounters:
    def __init__(self, redis_url: str, max_connections: int) -> None:
        self._redis = redis_client(redis_url, max_connections=max_connections)
        self._script = self._redis.register_script(WINDOW_SCRIPT)

    async def count(self, key: str, window_seconds: int, cost: int) -> tuple[int, float]:
        count, ttl_ms = await self._script(keys=[KEY_PREFIX + key], args=[window_seconds, cost])
        return int(count), max(0, int(ttl_ms)) / 1000

    async def close(self) -> None:
        await self._redis.aclose()


class MemoryCounters:
    """The `limits` library's in-process fixed windows (the embedded backend)."""

    def __init__(self) -> None:
        self._storage = MemoryStorage()

    async def count(self, key: str, window_seconds: int, cost: int) -> tuple[int, float]:
        count = await self._storage.incr(key, window_seconds, amount=cost)
        return count, max(0.0, await self._storage.get_expiry(key) - time.time())

    async def close(self) -> None:
        return None


class RateLimiter:
    def __init__(
        self, redis_url: str | None, *, enabled: bool = True, max_connections: int = 50
    ) -> None:
        self.enabled = enabled
        self.errors = 0  # store failures since start-up, for the metrics to export
        self._counters: WindowCounters = (
            RedisCounters(redis_url, max_connections) if redis_url else MemoryCounters()
        )

    async def hit(self, item: RateLimitItem, *identity: str) -> Decision:
        """Count one request; raises `ServiceUnavailable` when the counter store is down."""
        count, reset_after = await self._count(item, identity, cost=1)
        return _decision(item, count <= item.amount, count, reset_after)

    async def reserve(self, item: RateLimitItem, *identity: str, message: str) -> None:
        """Take one attempt before doing the work it guards: the window's increment is atomic,
        so of many concurrent attempts only `item.amount` pass. A refused one is given back
        (the count stays at the limit) and answered 429; 503 when the store is down."""
        if not self.enabled:
            return
        decision = await self.hit(item, *identity)
        if not decision.allowed:
            await self.refund(item, *identity)
            decision.raise_if_denied(message)

    async def refund(self, item: RateLimitItem, *identity: str) -> None:
        """Give back one reserved attempt (best effort: a store error leaves it counted)."""
        if not self.enabled:
            return
        with contextlib.suppress(ServiceUnavailable):  # already logged and counted
            await self._count(item, identity, cost=-1)

    async def enforce(self, item: RateLimitItem, *identity: str, message: str) -> None:
        """Fail-closed limiter for sign-in paths: 429 when over, 503 when the store is down."""
        if self.enabled:
            (await self.hit(item, *identity)).raise_if_denied(message)

    async def _count(
        self, item: RateLimitItem, identity: tuple[str, ...], cost: int
    ) -> tuple[int, float]:
        try:
            return await self._counters.count(item.key_for(*identity), item.get_expiry(), cost)
        except (RedisError, OSError, StorageError) as exc:
            self.errors += 1
            logger.warning("rate-limit store error (%d so far): %r", self.errors, exc)
            raise ServiceUnavailable("The rate-limit store (Redis) is unavailable") from exc

    async def close(self) -> None:
        await self._counters.close()


def _decision(item: RateLimitItem, allowed: bool, count: int, reset_after: float) -> Decision:
    remaining = max(0, item.amount - count)
    return Decision(allowed, item.amount, remaining, max(0, math.ceil(reset_after)))
