"""The worker process: periodic maintenance now; the job queue's consumer when it lands.

Each pass purges long-expired credentials and stores replies left `streaming` by a process
that is gone as `incomplete` (conversations/orphans.py).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.conversations.orphans import stop_orphaned_replies
from orbiter.core.db import create_engine, create_sessionmaker, transaction
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.models import AccessToken, ApiKey, DeviceAuthorization

logger = logging.getLogger("orbiter.worker")
MAINTENANCE_EVERY_SECONDS = 60
KEEP_EXPIRED = timedelta(days=1)


async def purge_expired_credentials(db: AsyncSession) -> int:
    """Expired bearer tokens, API keys and device codes are dead weight; keep a day for audit."""
    cutoff = utcnow() - KEEP_EXPIRED
    removed = 0
    for model in (AccessToken, DeviceAuthorization, ApiKey):
        result = await db.execute(delete(model).where(model.expires_at < cutoff))
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    return removed


async def run_worker(settings: Settings, *, once: bool = False) -> None:
    logging.basicConfig(level=settings.log_level.upper())
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    try:
        while True:
            async with transaction(sessionmaker) as db:
                removed = await purge_expired_credentials(db)
            stopped = await stop_orphaned_replies(sessionmaker)
            logger.info(
                "maintenance: removed %d expired credentials, stopped %d orphaned replies",
                removed,
                stopped,
            )
            if once:
                return
            await asyncio.sleep(MAINTENANCE_EVERY_SECONDS)
    finally:
        await engine.dispose()
