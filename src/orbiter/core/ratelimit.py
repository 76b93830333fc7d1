"""Rate limits (API.md §1.4) on the `limits` library: Redis storage for real, memory embedded."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from orbiter.core.errors import RateLimited, ServiceUnavailable


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


class RateLimiter:
    def __init__(self, redis_url: str | None, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._storage: Storage
        if redis_url:
            self._storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                wrap_exceptions=True,
                socket_timeout=2,
                socket_connect_timeout=2,
            )
        else:
            self._storage = MemoryStorage()
        self._limiter = FixedWindowRateLimiter(self._storage)

    async def hit(self, item: RateLimitItem, *identity: str) -> Decision:
        """Count one request; raises `ServiceUnavailable` when the counter store is down."""
        try:
            allowed = await self._limiter.hit(item, *identity)
            stats = await self._limiter.get_window_stats(item, *identity)
        except StorageError as exc:
            raise ServiceUnavailable("The rate-limit store (Redis) is unavailable") from exc
        return _decision(item, allowed, stats.remaining, stats.reset_time)

    async def peek(self, item: RateLimitItem, *identity: str) -> Decision:
        """Whether one more would be allowed, without counting it."""
        try:
            stats = await self._limiter.get_window_stats(item, *identity)
        except StorageError as exc:
            raise ServiceUnavailable("The rate-limit store (Redis) is unavailable") from exc
        return _decision(item, stats.remaining > 0, stats.remaining, stats.reset_time)

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
        try:
            await self._storage.incr(item.key_for(*identity), item.get_expiry(), amount=-1)
        except StorageError:
            return

    async def enforce(self, item: RateLimitItem, *identity: str, message: str) -> None:
        """Fail-closed limiter for sign-in paths: 429 when over, 503 when the store is down."""
        if self.enabled:
            (await self.hit(item, *identity)).raise_if_denied(message)

    async def clear(self) -> None:
        try:
            await self._storage.reset()
        except (StorageError, NotImplementedError):
            return

    async def close(self) -> None:
        return None


def _decision(item: RateLimitItem, allowed: bool, remaining: int, reset_time: float) -> Decision:
    reset_after = max(0, math.ceil(reset_time - time.time()))
    return Decision(allowed, item.amount, max(0, remaining), reset_after)
