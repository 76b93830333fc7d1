"""Key-value store for sessions and small shared state: Redis for real, a dict when embedded."""

from __future__ import annotations

import builtins
import time
from typing import Protocol, cast

import redis.asyncio as aioredis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from orbiter.core.errors import ServiceUnavailable


class KeyValueStore(Protocol):
    async def get(self, key: str) -> str | None: ...
    async def put(self, key: str, value: str, ttl_seconds: int) -> None: ...
    async def delete(self, *keys: str) -> int:
        """Remove the keys; how many existed (racing deletes: only one sees each key)."""
        ...

    async def add_to_set(self, key: str, member: str, ttl_seconds: int) -> None: ...
    async def remove_from_set(self, key: str, member: str) -> None: ...
    async def set_members(self, key: str) -> builtins.set[str]: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryKeyValueStore:
    def __init__(self) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._sets: dict[str, tuple[builtins.set[str], float]] = {}

    def _alive(self, expires_at: float) -> bool:
        return expires_at > time.monotonic()

    async def get(self, key: str) -> str | None:
        item = self._values.get(key)
        if item is None or not self._alive(item[1]):
            self._values.pop(key, None)
            return None
        return item[0]

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        self._values[key] = (value, time.monotonic() + ttl_seconds)

    async def delete(self, *keys: str) -> int:
        removed = 0
        for key in keys:
            found = (self._values.pop(key, None), self._sets.pop(key, None))
            removed += any(item is not None and self._alive(item[1]) for item in found)
        return removed

    async def add_to_set(self, key: str, member: str, ttl_seconds: int) -> None:
        members = await self.set_members(key)
        members.add(member)
        self._sets[key] = (members, time.monotonic() + ttl_seconds)

    async def remove_from_set(self, key: str, member: str) -> None:
        item = self._sets.get(key)
        if item:
            item[0].discard(member)

    async def set_members(self, key: str) -> builtins.set[str]:
        item = self._sets.get(key)
        if item is None or not self._alive(item[1]):
            self._sets.pop(key, None)
            return set()
        return set(item[0])

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


POOL_WAIT_SECONDS = 10


def redis_client(url: str, *, max_connections: int, decode_responses: bool = False) -> Redis:
    """A client whose requests wait for one of `max_connections` connections when all are
    busy (a burst of concurrent requests queues) instead of failing with "too many"."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        decode_responses=decode_responses,
        socket_timeout=5,
        socket_connect_timeout=2,
    )
    return Redis.from_pool(pool)


class RedisKeyValueStore:
    def __init__(self, url: str, prefix: str = "orbiter:", *, max_connections: int = 50) -> None:
        self._redis = redis_client(url, max_connections=max_connections, decode_responses=True)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> str | None:
        async with _unavailable_on_error():
            return cast(str | None, await self._redis.get(self._k(key)))

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        async with _unavailable_on_error():
            await self._redis.set(self._k(key), value, ex=max(1, ttl_seconds))

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        async with _unavailable_on_error():
            return int(await self._redis.delete(*(self._k(k) for k in keys)))

    async def add_to_set(self, key: str, member: str, ttl_seconds: int) -> None:
        async with _unavailable_on_error():
            pipe = self._redis.pipeline()
            pipe.sadd(self._k(key), member)
            pipe.expire(self._k(key), max(1, ttl_seconds), gt=True)
            pipe.expire(self._k(key), max(1, ttl_seconds), nx=True)
            await pipe.execute()

    async def remove_from_set(self, key: str, member: str) -> None:
        async with _unavailable_on_error():
            await self._redis.srem(self._k(key), member)

    async def set_members(self, key: str) -> builtins.set[str]:
        async with _unavailable_on_error():
            return cast(builtins.set[str], await self._redis.smembers(self._k(key)))

    async def ping(self) -> None:
        async with _unavailable_on_error():
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


class _unavailable_on_error:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, RedisError | OSError):
            raise ServiceUnavailable("The session store (Redis) is unavailable") from exc
