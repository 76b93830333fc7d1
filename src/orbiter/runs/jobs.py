"""The engine's periodic jobs (registered in the composition root, `orbiter/worker.py`).

* `reap_lost_runs`: a `running` run whose heartbeat is older than `ORBITER_RUN_STALE_SECONDS`
  lost its worker (killed, out of memory, host gone): it is failed with
  `{"code": "INTERNAL_ERROR", "message": "the worker running it stopped"}`, its open spans are
  closed and its followers get the `error` event. A run is so failed within about
  `ORBITER_RUN_STALE_SECONDS` plus one reaper tick of its worker's death.
* `resend_queued`: the runs table is the queue's outbox. A run still `queued` a while after it
  was last sent (the send after commit failed, Redis lost the job, a worker died holding it
  before claiming it) is sent again; the claim makes a second delivery harmless.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from orbiter.core.time import utcnow
from orbiter.runs import events, store
from orbiter.runs.engine import execute_job
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.runs")

LOST = {"code": "INTERNAL_ERROR", "message": "the worker running it stopped"}
BATCH = 500
RESEND_AFTER_SECONDS = 30.0
REAP_EVERY_SECONDS = 2.0
RESEND_EVERY_SECONDS = 10.0


async def reap_lost_runs(resources: Resources) -> int:
    cutoff = utcnow() - timedelta(seconds=resources.settings.run_stale_seconds)
    failed = 0
    async with store.single_statements(resources.engine) as conn:
        for run_id, attempts, conversation_id in await store.stale_runs(conn, cutoff, BATCH):
            if not await store.fail_stale(conn, run_id, attempts, cutoff, LOST):
                continue  # its heartbeat came back, or it ended meanwhile
            await store.close_open_spans(conn, run_id, LOST["message"])
            ending = events.ending_event(run_id, "failed", attempts, None, LOST)
            await events.publish(resources.pubsub, ending, conversation_id=conversation_id)
            failed += 1
    if failed:
        logger.warning("failed %d runs whose worker stopped", failed)
    return failed


async def resend_queued(resources: Resources) -> int:
    cutoff = utcnow() - timedelta(seconds=RESEND_AFTER_SECONDS)
    async with store.single_statements(resources.engine) as conn:
        run_ids = await store.queued_before(conn, cutoff, BATCH)
    for run_id in run_ids:
        await resources.queue.send(execute_job(run_id))
    if run_ids:
        logger.info("sent %d queued runs again", len(run_ids))
    return len(run_ids)
