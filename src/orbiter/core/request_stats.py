"""Request rate, error rate and latency percentiles over the last minutes, across replicas.

The request middleware calls `record` for every answered HTTP request: it adds to this
process's counters for the current minute (count, 5xx count, one fixed latency histogram
bucket), nothing else. With Redis configured, the counters are flushed at most once a second
per process (one pipelined call: HINCRBY per changed field of the minute's hash
`orbiter:reqstats:<minute>`, and its expiry), so every replica adds to the same hashes;
`window` flushes this process first, then sums the minutes from Redis. Without Redis the
process's own counters are the answer (one process serves everything).

Percentiles come from the histogram: the upper bound of the bucket holding the p-th request
(so p95 is an upper bound at the buckets' resolution; slower than the last bound reads as it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from bisect import bisect_left
from dataclasses import dataclass

from redis.asyncio import Redis

from orbiter.core.kv import redis_client

logger = logging.getLogger("orbiter.request_stats")

# Latency bucket upper bounds in ms; the last bucket is everything slower.
BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
KEEP_MINUTES = 16
KEY_PREFIX = "orbiter:reqstats:"
FLUSH_SECONDS = 1.0
COUNT, ERRORS = "n", "e"


def _minute(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 60)


@dataclass(frozen=True)
class Window:
    minutes: int
    requests: int
    requests_per_second: float
    error_rate: float  # percent of 5xx
    p50_ms: float | None
    p95_ms: float | None


def create_request_stats(redis_url: str) -> RequestStats:
    """Shared through Redis when a URL is given (the app's setting), else in process."""
    if not redis_url:
        return RequestStats()
    return RequestStats(redis_client(redis_url, max_connections=4))


class RequestStats:
    def __init__(self, redis: Redis | None = None) -> None:
        self._redis = redis
        self._counts: dict[int, dict[str, int]] = {}  # minute -> field -> count (not flushed)
        self._last_flush = 0.0
        self._flushing: asyncio.Task[None] | None = None

    def record(self, status: int, seconds: float) -> None:
        minute = self._counts.setdefault(_minute(), {})
        bucket = f"b{bisect_left(BUCKETS_MS, seconds * 1000)}"
        minute[COUNT] = minute.get(COUNT, 0) + 1
        minute[bucket] = minute.get(bucket, 0) + 1
        if status >= 500:
            minute[ERRORS] = minute.get(ERRORS, 0) + 1
        if self._redis is None:
            self._drop_old()
        elif time.monotonic() - self._last_flush >= FLUSH_SECONDS and not self._busy():
            self._last_flush = time.monotonic()
            self._flushing = asyncio.get_running_loop().create_task(self.flush())

    @property
    def shared(self) -> bool:
        return self._redis is not None

    def _busy(self) -> bool:
        return self._flushing is not None and not self._flushing.done()

    def _drop_old(self) -> None:
        oldest = _minute() - KEEP_MINUTES
        for minute in [m for m in self._counts if m < oldest]:
            del self._counts[minute]

    async def flush(self) -> None:
        """Add this process's counters to Redis (one pipelined call); kept on failure."""
        if self._redis is None or not self._counts:
            return
        counts, self._counts = self._counts, {}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for minute, fields in counts.items():
                    key = f"{KEY_PREFIX}{minute}"
                    for name, value in fields.items():
                        pipe.hincrby(key, name, value)
                    pipe.expire(key, KEEP_MINUTES * 60)
                await pipe.execute()
        except Exception:  # Redis down: keep the counts for the next flush
            logger.warning("could not flush request stats to Redis", exc_info=True)
            for minute, fields in counts.items():
                mine = self._counts.setdefault(minute, {})
                for name, value in fields.items():
                    mine[name] = mine.get(name, 0) + value
            self._drop_old()

    async def close(self) -> None:
        await self.flush()
        if self._redis is not None:
            await self._redis.aclose()

    async def windows(self, spans: tuple[int, ...] = (1, 5, 15)) -> list[Window]:
        """The last `spans` minutes (the current minute counts as the last one)."""
        if self._busy() and self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing
        await self.flush()
        now = _minute()
        minutes = list(range(now - max(spans) + 1, now + 1))
        per_minute = await self._read(minutes)
        return [_window(span, [per_minute[m] for m in minutes[-span:]]) for span in spans]

    async def _read(self, minutes: list[int]) -> dict[int, dict[str, int]]:
        if self._redis is None:
            return {m: dict(self._counts.get(m, {})) for m in minutes}
        async with self._redis.pipeline(transaction=False) as pipe:
            for minute in minutes:
                pipe.hgetall(f"{KEY_PREFIX}{minute}")
            rows = await pipe.execute()
        return {
            m: {_text(k): int(v) for k, v in row.items()}
            for m, row in zip(minutes, rows, strict=True)
        }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _window(span: int, minutes: list[dict[str, int]]) -> Window:
    total = sum(m.get(COUNT, 0) for m in minutes)
    errors = sum(m.get(ERRORS, 0) for m in minutes)
    histogram = [sum(m.get(f"b{i}", 0) for m in minutes) for i in range(len(BUCKETS_MS) + 1)]
    return Window(
        minutes=span,
        requests=total,
        requests_per_second=round(total / (span * 60), 4),
        error_rate=round(100 * errors / total, 2) if total else 0.0,
        p50_ms=_percentile(histogram, total, 0.50),
        p95_ms=_percentile(histogram, total, 0.95),
    )


def _percentile(histogram: list[int], total: int, p: float) -> float | None:
    if not total:
        return None
    rank, seen = p * total, 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return float(BUCKETS_MS[min(index, len(BUCKETS_MS) - 1)])
    return float(BUCKETS_MS[-1])
