"""A project's intent and brief: read by any member, changed by editors."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.models import ProjectBrief, Role
from orbiter.project_knowledge.schemas import BriefEnvelope, BriefRead, BriefUpdate
from orbiter.tenancy.access import load_project


def _envelope(project_id: uuid.UUID, row: ProjectBrief | None) -> BriefEnvelope:
    return BriefEnvelope(
        project=BriefRead(
            id=project_id,
            intent=row.intent if row else None,
            brief=row.brief if row else None,
        )
    )


async def stored_brief(db: AsyncSession, project_id: uuid.UUID) -> ProjectBrief | None:
    return await db.get(ProjectBrief, project_id)


async def get_brief(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID
) -> BriefEnvelope:
    await load_project(db, user_id=user_id, project_id=project_id)
    return _envelope(project_id, await stored_brief(db, project_id))


async def update_brief(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, body: BriefUpdate
) -> BriefEnvelope:
    """Set the fields sent (null clears one); the others keep their value."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    row = await stored_brief(db, project_id)
    if row is None:
        row = ProjectBrief(project_id=project_id)
        db.add(row)
    for name in body.model_fields_set:
        setattr(row, name, getattr(body, name))
    row.updated_by = user_id
    await db.flush()
    return _envelope(project_id, row)
