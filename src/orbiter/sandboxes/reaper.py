"""The reaper: sandboxes past their expiry are killed and their files deleted; files without
a sandbox (a process killed mid-create) and sandboxes without files are removed too.

It runs on every host that holds sandboxes (host.py's tick, started by the app and by
`orbiter worker`, once per tick per host, the first at start-up, so a restart after
`kill -9` leaves no orphans, on a host that runs only workers too). A running command is killed
with its sandbox. A sandbox outlives a restart of its host: its files are still there, and
only the commands that were running died (bubblewrap's --die-with-parent).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orbiter.core.db import transaction
from orbiter.core.time import utcnow
from orbiter.models import Sandbox
from orbiter.models.user import PLANS
from orbiter.sandbox import plan_limit
from orbiter.sandboxes.host import SandboxHost

logger = logging.getLogger("orbiter.sandboxes")
MIN_GRACE_SECONDS = 60.0


async def reap_sandboxes(
    host: SandboxHost,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
) -> int:
    """Reap this host's expired sandboxes and leftovers; the number of sandboxes removed."""
    now = now or utcnow()
    # A sandbox's files exist for up to one command before its row is written.
    longest = max(plan_limit(host.settings, plan, "command_seconds") for plan in PLANS)
    grace = timedelta(seconds=max(MIN_GRACE_SECONDS, 2 * longest))
    on_disk = _directories(host)
    async with transaction(sessionmaker) as db:
        expired = set(
            (
                await db.execute(
                    delete(Sandbox)
                    .where(Sandbox.host == host.name, Sandbox.expires_at <= now)
                    .returning(Sandbox.id)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
        live = {
            row.id: row.created_at
            for row in await db.execute(
                select(Sandbox.id, Sandbox.created_at).where(Sandbox.host == host.name)
            )
        }
        lost = [
            sid for sid, created in live.items() if sid not in on_disk and created < now - grace
        ]
        if lost:
            await db.execute(
                delete(Sandbox)
                .where(Sandbox.id.in_(lost))
                .execution_options(synchronize_session=False)
            )
    orphans = [
        sid
        for sid, modified in on_disk.items()
        if sid not in live and sid not in expired and modified < now - grace
    ]
    for sandbox_id in [*expired, *orphans]:
        await host.destroy(sandbox_id)
    removed = len(expired) + len(orphans) + len(lost)
    if removed:
        logger.info(
            "sandboxes reaped: %d expired, %d orphaned directories, %d without files",
            len(expired),
            len(orphans),
            len(lost),
        )
    return removed


def _directories(host: SandboxHost) -> dict[uuid.UUID, datetime]:
    """The sandbox directories on this host, with when each last changed."""
    found: dict[uuid.UUID, datetime] = {}
    if not host.root.is_dir():
        return found
    for path in host.root.iterdir():
        try:
            sandbox_id = uuid.UUID(path.name)
            modified = path.lstat().st_mtime
        except (ValueError, OSError):
            continue
        found[sandbox_id] = datetime.fromtimestamp(modified, tz=UTC)
    return found
