"""Project-member scope: every load of a project-owned thing by id goes through here."""

from __future__ import annotations

import uuid
from typing import Protocol, TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import Forbidden, NotFound
from orbiter.models import ROLES, Project, ProjectMember


class ProjectOwned(Protocol):
    project_id: uuid.UUID


RowT = TypeVar("RowT", bound=ProjectOwned)


def role_at_least(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


async def load_project(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    min_role: str = "viewer",
    lock: bool = False,
) -> tuple[Project, str]:
    """The project and the caller's role. Not a member: NotFound. Role too low: Forbidden.

    `lock` holds the project row until commit, serialising membership changes. SQLite has no
    FOR UPDATE, so there a no-op write takes its database write lock before anything is read.
    """
    if lock and db.get_bind().dialect.name == "sqlite":
        await db.execute(
            update(Project)
            .where(Project.id == project_id)
            .values(updated_at=Project.updated_at)
            .execution_options(synchronize_session=False)
        )
    stmt = (
        select(Project, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(Project.id == project_id, ProjectMember.user_id == user_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=Project)
    row = (await db.execute(stmt)).first()
    if row is None:
        raise NotFound("Project not found")
    project, role = row
    if not role_at_least(role, min_role):
        raise Forbidden(f"This needs the {min_role} role in the project; you are {role}")
    return project, role


async def load_project_row(
    db: AsyncSession,
    model: type[RowT],
    row_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    min_role: str = "viewer",
    label: str,
) -> RowT:
    """A row that belongs to a project, by id, through the caller's membership of that project.

    No such row, or not a member: NotFound("<label> not found"), the same answer either way so
    ids reveal nothing. Role too low: Forbidden.
    """
    row = await db.get(model, row_id)
    if row is None:
        raise NotFound(f"{label} not found")
    try:
        await load_project(db, user_id=user_id, project_id=row.project_id, min_role=min_role)
    except NotFound as exc:
        raise NotFound(f"{label} not found") from exc
    return row
