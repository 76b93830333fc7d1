"""Project activity events. Any domain records what happened to a project through here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.models import Event


async def record_event(
    db: AsyncSession,
    *,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    type: str,
    data: dict[str, Any] | None = None,
) -> Event:
    event = Event(project_id=project_id, actor_id=actor_id, type=type, data=data or {})
    db.add(event)
    await db.flush()
    return event


async def recent_events(db: AsyncSession, *, project_id: uuid.UUID, limit: int) -> list[Event]:
    stmt = (
        select(Event)
        .where(Event.project_id == project_id)
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return list((await db.scalars(stmt)).all())


async def page_events(
    db: AsyncSession, *, project_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[Event], PageInfo]:
    stmt = select(Event).where(Event.project_id == project_id)
    rows, info = await paginate(
        db, stmt, order=[Event.created_at, Event.id], params=params, codec=codec
    )
    return [row[0] for row in rows], info
