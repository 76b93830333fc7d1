"""Creating projects (a user's personal one included) and finding the personal project."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import NotFound
from orbiter.models import Project, ProjectMember, Role
from orbiter.tenancy.events import record_event

PERSONAL_PROJECT_NAME = "Personal"


async def create_project(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    name: str,
    description: str | None = None,
    is_personal: bool = False,
) -> Project:
    """A project with its creator as owner, and its `project.created` event."""
    project = Project(
        name=name, description=description, is_personal=is_personal, created_by=user_id
    )
    db.add(project)
    await db.flush()
    db.add(ProjectMember(project_id=project.id, user_id=user_id, role=Role.OWNER))
    await record_event(
        db, project_id=project.id, actor_id=user_id, type="project.created", data={"name": name}
    )
    return project


async def create_personal_project(db: AsyncSession, *, user_id: uuid.UUID) -> Project:
    return await create_project(db, user_id=user_id, name=PERSONAL_PROJECT_NAME, is_personal=True)


async def personal_project_id(db: AsyncSession, *, user_id: uuid.UUID) -> uuid.UUID:
    """The project used when a create call omits `project_id`."""
    project_id = await db.scalar(
        select(Project.id).where(Project.created_by == user_id, Project.is_personal.is_(True))
    )
    if project_id is None:
        raise NotFound("Personal project not found")
    return project_id


async def project_or_personal(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID | None
) -> uuid.UUID:
    return project_id or await personal_project_id(db, user_id=user_id)
