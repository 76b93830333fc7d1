"""The job queue (an adapter: imports only core) and the periodic-tick runner."""

from orbiter.queue.base import Handler, Job, JobQueue, after_commit, drop_pending, send_pending
from orbiter.queue.brokers import MemoryQueue, RedisQueue, create_queue
from orbiter.queue.periodic import Periodic, Ticker

__all__ = [
    "Handler",
    "Job",
    "JobQueue",
    "MemoryQueue",
    "Periodic",
    "RedisQueue",
    "Ticker",
    "after_commit",
    "create_queue",
    "drop_pending",
    "send_pending",
]
