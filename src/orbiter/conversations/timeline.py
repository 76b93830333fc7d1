"""A conversation's snapshots and deployments on its timeline, between two instants.

A timeline page owns the events from its first message (the beginning, on the first page)
up to the next page's first message (no end, on the last page), so paging through the whole
timeline yields every event exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.conversations.schemas import TimelineEntry
from orbiter.core.pagination import AnySelect
from orbiter.models import AppDeployment, Conversation, Snapshot

Bound = datetime | None


async def events_between(
    db: AsyncSession,
    conversation: Conversation,
    start: Bound,
    end: Bound,
) -> list[TimelineEntry]:
    """The conversation's deployments and its workspace's snapshots in [start, end)."""
    deployments = select(AppDeployment).where(AppDeployment.conversation_id == conversation.id)
    entries = [
        TimelineEntry(
            kind="deployment",
            id=str(row.id),
            at=row.created_at,
            status=row.status,
            url=row.url,
            trigger=row.trigger,
            manifest_hash=row.manifest_hash,
        )
        for row in await db.scalars(_window(deployments, AppDeployment, start, end))
    ]
    if conversation.workspace_id is not None:
        snapshots = select(Snapshot).where(Snapshot.workspace_id == conversation.workspace_id)
        entries += [
            TimelineEntry(
                kind="snapshot",
                id=str(row.id),
                at=row.created_at,
                message=row.message,
                manifest_hash=row.manifest_hash,
            )
            for row in await db.scalars(_window(snapshots, Snapshot, start, end))
        ]
    return entries


def _window(
    stmt: AnySelect, model: type[AppDeployment | Snapshot], start: Bound, end: Bound
) -> AnySelect:
    if start is not None:
        stmt = stmt.where(model.created_at >= start)
    if end is not None:
        stmt = stmt.where(model.created_at < end)
    return stmt.order_by(model.created_at, model.id)
