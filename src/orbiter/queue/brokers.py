"""The queue on taskiq: a Redis stream broker for real, taskiq's in-memory broker embedded.

Redis (`ORBITER_REDIS_URL`): taskiq-redis's `RedisStreamBroker`. Jobs are stream entries read
by a consumer group, so each goes to one worker; a worker acknowledges a job when its handler
returns (`AcknowledgeType.WHEN_EXECUTED`), so a job whose worker died stays pending and
another worker claims it (XAUTOCLAIM) once it has been idle `ORBITER_QUEUE_REDELIVER_SECONDS`.
Two things to know about taskiq-redis 1.2: it looks for such jobs only after a read that
returned new jobs (on an idle queue a pending job waits for the next job to arrive), and a job
idle that long is claimed even when its worker is alive but slow. Both are fine here because
handlers are idempotent and runs are recovered by their own heartbeat and the reaper tick,
which also sends jobs again (so the queue is never idle for long while something is owed).

Embedded: `InMemoryBroker` runs each job as a task of the sending process at once; nothing
survives the process, and the runs table (the outbox) brings back what was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.acks import AcknowledgeType
from taskiq.kicker import AsyncKicker
from taskiq.receiver import Receiver
from taskiq_redis import RedisStreamBroker

from orbiter.core.settings import Settings
from orbiter.queue.base import Handler, Job, JobQueue

STREAM = "orbiter:jobs"
GROUP = "orbiter-workers"
LOCK_PREFIX = "orbiter:lock:"
PERIODIC_STREAM = "orbiter:periodic"  # who ran which periodic job for which tick
PERIODIC_KEEP = 1000
STREAM_MAX_LEN = 100_000  # approximate; jobs lost to trimming are sent again by their owner
READ_BLOCK_MS = 1000
READ_COUNT = 100
RETRY_SECONDS = 1.0
logger = logging.getLogger("orbiter.queue")


class TaskiqQueue:
    def __init__(self, broker: AsyncBroker, *, concurrency: int, shutdown_seconds: float) -> None:
        # taskiq logs a line per job at INFO; ours (orbiter.runs) say what matters.
        logging.getLogger("taskiq").setLevel(logging.WARNING)
        self._broker = broker
        self._concurrency = concurrency
        self._shutdown_seconds = shutdown_seconds
        self._started = False

    @property
    def in_process(self) -> bool:
        return False

    def register(self, name: str, handler: Handler) -> None:
        async def run(payload: dict[str, Any]) -> None:
            await handler(payload)

        self._broker.register_task(run, task_name=name)

    async def start(self) -> None:
        if not self._started:
            await self._broker.startup()
            self._started = True

    async def send(self, job: Job) -> None:
        kicker: AsyncKicker[Any, Any] = AsyncKicker(job.name, self._broker, labels={})
        await kicker.with_task_id(job.id).kiq(job.payload)

    async def consume(self, stop: asyncio.Event) -> None:
        """Taskiq's receiver in this process (not the `taskiq worker` command): up to
        `concurrency` jobs at once; when `stop` is set it takes no more and waits up to
        `shutdown_seconds` for the running ones. When the broker fails (Redis restarted and
        lost the stream's consumer group, a dropped connection) it starts again."""
        self._broker.is_worker_process = True
        with ThreadPoolExecutor(max_workers=1) as executor:  # for sync handlers; there are none
            while not stop.is_set():
                receiver = Receiver(
                    broker=self._broker,
                    executor=executor,
                    max_async_tasks=self._concurrency,
                    run_startup=True,  # (re)declares the consumer group
                    ack_type=AcknowledgeType.WHEN_EXECUTED,
                    wait_tasks_timeout=self._shutdown_seconds,
                )
                try:
                    await receiver.listen(stop)
                except Exception:
                    logger.warning("the job queue failed; listening again", exc_info=True)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), RETRY_SECONDS)

    async def claim_once(self, key: str, ttl_seconds: int) -> bool:
        raise NotImplementedError

    async def ping(self) -> None:
        return None  # the in-process broker is always reachable; RedisQueue pings

    async def close(self) -> None:
        self._started = False
        await self._broker.shutdown()  # also closes the connections of a broker never started


class RedisQueue(TaskiqQueue):
    def __init__(self, settings: Settings) -> None:
        concurrency = settings.worker_concurrency
        broker = RedisStreamBroker(
            settings.redis_url,
            queue_name=STREAM,
            consumer_group_name=GROUP,
            consumer_id="0",  # a group made after jobs were sent still gets them
            max_connection_pool_size=concurrency + 10,  # acks, the reader, locks
            xread_block=READ_BLOCK_MS,
            xread_count=READ_COUNT,
            maxlen=STREAM_MAX_LEN,
            idle_timeout=int(settings.queue_redeliver_seconds * 1000),
            unacknowledged_lock_timeout=max(1.0, settings.queue_redeliver_seconds),
            # No socket timeout on the broker's connections (redis-py 8 defaults to 5 s): on
            # Python 3.11 redis-py sends through `asyncio.wait_for`, which can swallow the
            # cancel taskiq uses to stop reading (CPython gh-86296), leaving the stream read
            # loop running forever after shutdown. Reads are bounded by XREADGROUP's BLOCK;
            # keepalive notices a dead peer.
            socket_timeout=None,
            socket_keepalive=True,
        )
        super().__init__(
            broker, concurrency=concurrency, shutdown_seconds=settings.worker_shutdown_seconds
        )
        self._redis = Redis.from_url(settings.redis_url)  # with redis-py's timeouts

    async def claim_once(self, key: str, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(LOCK_PREFIX + key, "1", nx=True, ex=max(1, ttl_seconds)))

    async def ping(self) -> None:
        await self._redis.ping()

    async def record_periodic(self, name: str, slot: int, ok: bool, seconds: float) -> None:
        entry: dict[FieldT, EncodableT] = {
            "job": name,
            "tick": slot,
            "worker": f"{socket.gethostname()}:{os.getpid()}",
            "ok": "1" if ok else "0",
            "seconds": f"{seconds:.3f}",
        }
        await self._redis.xadd(PERIODIC_STREAM, entry, maxlen=PERIODIC_KEEP, approximate=True)

    async def close(self) -> None:
        await super().close()
        await self._redis.aclose()


class MemoryQueue(TaskiqQueue):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            InMemoryBroker(max_stored_results=1),
            concurrency=settings.worker_concurrency,
            shutdown_seconds=settings.worker_shutdown_seconds,
        )
        self._claims: dict[str, float] = {}

    @property
    def in_process(self) -> bool:
        return True

    async def consume(self, stop: asyncio.Event) -> None:
        """Jobs already run where they are sent: wait for `stop`."""
        await stop.wait()

    async def claim_once(self, key: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        for old in [k for k, until in self._claims.items() if until <= now]:
            del self._claims[old]
        if key in self._claims:
            return False
        self._claims[key] = now + ttl_seconds
        return True

    async def record_periodic(self, name: str, slot: int, ok: bool, seconds: float) -> None:
        """One process runs every tick here: nothing to share (a failure is in its log)."""


def create_queue(settings: Settings) -> JobQueue:
    return RedisQueue(settings) if settings.redis_url else MemoryQueue(settings)
