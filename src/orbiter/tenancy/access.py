"""The one project-member scope: every load of a project or a project-owned row goes through here.

Not a member (or no such row): `NotFound`, the same answer either way so ids reveal nothing.
A member whose role is too low: `Forbidden`.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import Forbidden, NotFound, ValidationFailed
from orbiter.models import Project, ProjectMember, Role


class ProjectOwned(Protocol):
    project_id: uuid.UUID


RowT = TypeVar("RowT", bound=ProjectOwned)


async def load_project(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    min_role: Role = Role.VIEWER,
    lock: bool = False,
) -> tuple[Project, Role]:
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
    require_role(role, min_role)
    return project, role


def member_project_ids(user_id: uuid.UUID) -> Select[uuid.UUID]:
    """The projects the user is a member of, for lists across projects (`.in_(...)`)."""
    return select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)


def require_role(role: Role, needed: Role) -> None:
    if not role.at_least(needed):
        raise Forbidden(f"This needs the {needed} role in the project; you are {role}")


async def load_project_row(
    db: AsyncSession,
    model: type[RowT],
    row_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    min_role: Role = Role.VIEWER,
    label: str,
) -> RowT:
    """A project-owned row by id, through the caller's membership of its project."""
    row, _, _ = await load_project_row_scope(
        db, model, row_id, user_id=user_id, min_role=min_role, label=label
    )
    return row


async def load_project_row_scope(
    db: AsyncSession,
    model: type[RowT],
    row_id: uuid.UUID,
    *,
    user_id: uuid.UUID,
    min_role: Role = Role.VIEWER,
    label: str,
) -> tuple[RowT, Project, Role]:
    """The row, its project and the caller's role there. Not visible: `<label> not found`."""
    row = await db.get(model, row_id)
    if row is None:
        raise NotFound(f"{label} not found")
    try:
        project, role = await load_project(
            db, user_id=user_id, project_id=row.project_id, min_role=min_role
        )
    except NotFound as exc:
        raise NotFound(f"{label} not found") from exc
    return row, project, role


def missing_reference(field: str, label: str) -> ValidationFailed:
    """The one answer for a reference that does not exist or is not the caller's to use; the id
    is not echoed, so the answer is the same byte for byte whatever was named."""
    return ValidationFailed.for_field(field, f"{label} not found", type_="reference_not_found")


async def load_reference(
    db: AsyncSession,
    model: type[RowT],
    row_id: uuid.UUID,
    *,
    project_id: uuid.UUID,
    field: str,
    label: str,
) -> RowT:
    """A row another row points at (a workspace, snapshot, parent...), in this project.

    No such row and a row of another project get the same 422 on `field`, so an id of
    someone else's project is never confirmed.
    """
    row = await db.get(model, row_id)
    if row is None or row.project_id != project_id:
        raise missing_reference(field, label)
    return row


async def check_references(
    db: AsyncSession,
    model: type[RowT],
    row_ids: list[uuid.UUID],
    *,
    project_id: uuid.UUID,
    field: str,
    label: str,
) -> None:
    """Every id names a row of this project; the first that does not gets `missing_reference`."""
    table: Any = model  # a mapped class: its attributes are columns here
    found = set(
        (
            await db.scalars(
                select(table.id).where(table.project_id == project_id, table.id.in_(row_ids))
            )
        ).all()
    )
    for row_id in row_ids:
        if row_id not in found:
            raise missing_reference(field, label)
