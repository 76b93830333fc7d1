"""Replies left `streaming` by a process that is gone (killed, crashed) are stored `incomplete`.

A running reply moves its message's `updated_at` at least every `replies.TOUCH_SECONDS` (text
flushes, or its watchdog's touch), on whichever replica runs it. A `streaming` message left
untouched for longer than a follower's silence window has nobody running it: it is stopped with
the text received so far. The API does this at start-up, the worker at each maintenance pass,
and a follower (`follow.py`) when its reply falls silent.

An agent's reply (`run_id` set) belongs to its run, which may work or wait for an answer for
days without touching it: it is left alone until the run has ended, and then stored with the
run's outcome (`agent_turns.settle_ended_runs`) if the run could not write it itself.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orbiter.conversations.agent_turns import settle_ended_runs
from orbiter.core.db import transaction
from orbiter.core.time import utcnow
from orbiter.models import Message

logger = logging.getLogger("orbiter.conversations")

SILENCE_SECONDS = 10  # a reply untouched this long has nobody running it
ORPHANED_AFTER = timedelta(seconds=SILENCE_SECONDS)
STOPPED_GONE = "Stopped: the server running it went away"
STARTUP_PASS_SECONDS = 10


async def stop_orphaned_replies(
    sessionmaker: async_sessionmaker[AsyncSession], *, quiet_for: timedelta | None = None
) -> int:
    """Store every reply untouched for `quiet_for` (default `ORPHANED_AFTER`) as `incomplete`
    with the text it had; how many there were."""
    quiet_for = quiet_for or ORPHANED_AFTER
    async with transaction(sessionmaker) as db:
        result = await db.execute(
            update(Message)
            .where(
                Message.status == "streaming",
                Message.updated_at < utcnow() - quiet_for,
                Message.run_id.is_(None),
            )
            .values(status="incomplete", error=STOPPED_GONE)
            .execution_options(synchronize_session=False)
        )
    stopped = int(getattr(result, "rowcount", 0) or 0)
    stopped += await settle_ended_runs(sessionmaker, quiet_for=quiet_for)
    if stopped:
        logger.warning("stopped %d replies left streaming by a process that is gone", stopped)
    return stopped


async def stop_orphaned_replies_at_startup(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The API's start-up pass: a database not reachable (or not migrated) yet is not fatal,
    and cannot hold the start-up for long; the worker's next pass does the work then."""
    try:
        async with asyncio.timeout(STARTUP_PASS_SECONDS):
            await stop_orphaned_replies(sessionmaker)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        logger.warning("could not look for replies left streaming at start-up: %r", exc)
