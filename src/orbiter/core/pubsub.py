"""Publish/subscribe between replicas, plus small bounded event logs for replay.

`RedisPubSub` (when `ORBITER_REDIS_URL` is set) reaches every replica; `MemoryPubSub` reaches
subscribers in this process only, which is all there is when the app runs embedded.

A channel carries text messages. `publish(..., log=key)` also appends the message to a bounded
list kept for `log_ttl` seconds (atomically, before subscribers see it), so a client that
reconnects can subscribe first, then read the log, and miss nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from orbiter.core.errors import ServiceUnavailable

DEFAULT_LOG_MAX = 10_000
DEFAULT_LOG_TTL = 600
SUBSCRIBER_QUEUE = 10_000  # an in-process subscriber this far behind is dropped
PREFIX = "orbiter:"


class SubscriptionLost(Exception):
    """The subscriber fell too far behind (or the connection dropped); resubscribe and replay."""


class PubSub(Protocol):
    async def publish(
        self,
        channel: str,
        message: str,
        *,
        log: str | None = None,
        log_max: int = DEFAULT_LOG_MAX,
        log_ttl: int = DEFAULT_LOG_TTL,
    ) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[str]]:
        """Listen from the moment the context is entered; iterate to receive messages."""
        ...

    async def read_log(self, log: str) -> list[str]: ...
    async def close(self) -> None: ...


class MemoryPubSub:
    def __init__(self) -> None:
        self._channels: dict[str, set[asyncio.Queue[str | None]]] = {}
        self._logs: dict[str, tuple[list[str], float]] = {}

    async def publish(
        self,
        channel: str,
        message: str,
        *,
        log: str | None = None,
        log_max: int = DEFAULT_LOG_MAX,
        log_ttl: int = DEFAULT_LOG_TTL,
    ) -> None:
        if log is not None:
            items = self._live_log(log)
            items.append(message)
            del items[:-log_max]
            self._logs[log] = (items, time.monotonic() + log_ttl)
        for queue in list(self._channels.get(channel, ())):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                self._drop(channel, queue)

    def _drop(self, channel: str, queue: asyncio.Queue[str | None]) -> None:
        self._channels.get(channel, set()).discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)  # tells the iterator it was cut off

    def _live_log(self, log: str) -> list[str]:
        item = self._logs.get(log)
        if item is None or item[1] <= time.monotonic():
            self._logs.pop(log, None)
            return []
        return item[0]

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._channels.setdefault(channel, set()).add(queue)

        async def messages() -> AsyncIterator[str]:
            while True:
                message = await queue.get()
                if message is None:
                    raise SubscriptionLost("Subscriber fell behind")
                yield message

        try:
            yield messages()
        finally:
            subscribers = self._channels.get(channel)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._channels[channel]

    async def read_log(self, log: str) -> list[str]:
        return list(self._live_log(log))

    async def close(self) -> None:
        self._channels.clear()
        self._logs.clear()


class RedisPubSub:
    def __init__(self, url: str) -> None:
        # No socket timeout: a subscriber legitimately waits for minutes between messages.
        self._redis = aioredis.from_url(
            url, decode_responses=True, socket_connect_timeout=2, health_check_interval=30
        )

    async def publish(
        self,
        channel: str,
        message: str,
        *,
        log: str | None = None,
        log_max: int = DEFAULT_LOG_MAX,
        log_ttl: int = DEFAULT_LOG_TTL,
    ) -> None:
        async with _unavailable_on_error():
            pipe = self._redis.pipeline(transaction=True)
            if log is not None:
                pipe.rpush(PREFIX + log, message)
                pipe.ltrim(PREFIX + log, -log_max, -1)
                pipe.expire(PREFIX + log, max(1, log_ttl))
            pipe.publish(PREFIX + channel, message)
            await pipe.execute()

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        pubsub = self._redis.pubsub()
        try:
            async with _unavailable_on_error():
                await pubsub.subscribe(PREFIX + channel)
                # Wait for Redis to confirm, so nothing published after this returns is missed.
                while True:
                    confirmation = await pubsub.get_message(timeout=5)
                    if confirmation is None:
                        raise ServiceUnavailable("The event bus (Redis) did not confirm")
                    if confirmation["type"] == "subscribe":
                        break

            async def messages() -> AsyncIterator[str]:
                try:
                    async for item in pubsub.listen():
                        if item["type"] == "message":
                            yield cast(str, item["data"])
                except (RedisError, OSError) as exc:
                    raise SubscriptionLost("Lost the event bus connection") from exc

            yield messages()
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.unsubscribe()
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def read_log(self, log: str) -> list[str]:
        async with _unavailable_on_error():
            return cast(list[str], await self._redis.lrange(PREFIX + log, 0, -1))

    async def close(self) -> None:
        await self._redis.aclose()


def create_pubsub(redis_url: str) -> PubSub:
    return RedisPubSub(redis_url) if redis_url else MemoryPubSub()


class _unavailable_on_error:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, RedisError | OSError):
            raise ServiceUnavailable("The event bus (Redis) is unavailable") from exc
