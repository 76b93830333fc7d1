"""Projects, their members and roles."""

from __future__ import annotations

import uuid

from pydantic import TypeAdapter
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from orbiter.core.db import delete_one, read_only
from orbiter.core.errors import Conflict, Forbidden, NotFound
from orbiter.core.pagination import CursorCodec, KeysetQuery, PageInfo, PageParams, paginate
from orbiter.core.time import utcnow
from orbiter.models import Event, Project, ProjectMember, Role, User
from orbiter.projects.schemas import (
    EventRead,
    MemberRead,
    ProjectDetail,
    ProjectRead,
    ProjectStatus,
    ProjectUpdate,
)
from orbiter.snapshots import service as snapshots
from orbiter.tenancy import projects as tenancy_projects
from orbiter.tenancy.access import load_project
from orbiter.tenancy.events import page_events, recent_events, record_event
from orbiter.workspaces import service as workspaces

RECENT_EVENTS = 20
RECENT_SNAPSHOTS = 10


def project_read(project: Project, role: Role) -> ProjectRead:
    return ProjectRead.model_validate({**_columns(project), "role": role})


def _columns(project: Project) -> dict[str, object]:
    return {c: getattr(project, c) for c in ProjectRead.model_fields if c != "role"}


async def create_project(
    db: AsyncSession, *, user_id: uuid.UUID, name: str, description: str | None
) -> ProjectRead:
    project = await tenancy_projects.create_project(
        db, user_id=user_id, name=name, description=description
    )
    return project_read(project, Role.OWNER)


_FIELDS = tuple(ProjectRead.model_fields)
_PROJECT_ROWS = TypeAdapter(list[ProjectRead])
_PROJECTS = Project.__table__.c
_MEMBERS = ProjectMember.__table__.c
# The list is the hottest read: plain columns (no ORM objects), built and cache-keyed once.
_PROJECT_LIST = KeysetQuery(
    select(*(_MEMBERS.role if name == "role" else _PROJECTS[name] for name in _FIELDS)).join_from(
        Project.__table__,
        ProjectMember.__table__,
        (_MEMBERS.project_id == _PROJECTS.id) & (_MEMBERS.user_id == bindparam("user_id")),
    ),
    order=[_PROJECTS.updated_at, _PROJECTS.id],
    # Every membership names an existing project (foreign key), so the member table alone
    # counts them: an index-only scan instead of a join.
    count=select(func.count()).where(_MEMBERS.user_id == bindparam("user_id")),
)


async def list_projects(
    engine: AsyncEngine, *, user_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[ProjectRead], PageInfo]:
    """The caller's projects, most recently updated first.

    The hottest read takes the engine rather than the request's session: one statement on an
    autocommit connection, held only while it runs (a request dependency that yields a
    connection costs FastAPI more than the statement's own overhead)."""
    async with read_only(engine) as db:
        rows, info = await _PROJECT_LIST.page(db, params, codec, {"user_id": user_id})
    # The first columns are ProjectRead's fields, in order (the first page's total follows). One
    # validation of the list of dicts costs about half of one model_validate per row.
    width = len(_FIELDS)
    rows_read = [dict(zip(_FIELDS, row[:width], strict=True)) for row in rows]
    return _PROJECT_ROWS.validate_python(rows_read), info


async def project_detail(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID
) -> ProjectDetail:
    project, role = await load_project(db, user_id=user_id, project_id=project_id)
    member_count = await db.scalar(
        select(func.count()).where(ProjectMember.project_id == project.id)
    )
    events = await recent_events(db, project_id=project.id, limit=RECENT_EVENTS)
    recent = await snapshots.recent_snapshots(db, project_id=project.id, limit=RECENT_SNAPSHOTS)
    return ProjectDetail(
        **project_read(project, role).model_dump(),
        member_count=member_count or 0,
        events=[EventRead.model_validate(e) for e in events],
        workspaces=await workspaces.project_workspaces(db, project_id=project.id),
        snapshots=[snapshots.snapshot_read(s) for s in recent],
        snapshot_insights=await snapshots.snapshot_insights(
            db, project_id=project.id, latest=recent[0] if recent else None
        ),
    )


async def update_project(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, changes: ProjectUpdate
) -> ProjectRead:
    project, role = await load_project(
        db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR
    )
    fields = changes.model_dump(exclude_unset=True)
    for field, value in fields.items():
        setattr(project, field, value)
    project.updated_at = utcnow()
    await record_event(
        db,
        project_id=project.id,
        actor_id=user_id,
        type="project.updated",
        data={"fields": sorted(fields)},
    )
    await db.flush()
    return project_read(project, role)


async def delete_project(db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID) -> None:
    project, _ = await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.OWNER)
    if project.is_personal:
        raise Conflict("The personal project cannot be deleted")
    await delete_one(
        db, delete(Project).where(Project.id == project.id), missing="Project not found"
    )


async def project_status(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID
) -> ProjectStatus:
    project, _ = await load_project(db, user_id=user_id, project_id=project_id)
    last_activity = await db.scalar(
        select(func.max(Event.created_at)).where(Event.project_id == project.id)
    )
    last = await snapshots.latest_snapshot(db, project_id=project.id)
    return ProjectStatus(
        last_snapshot_id=last.id if last else None,
        updated_at=project.updated_at,
        last_activity=last_activity,
    )


async def list_events(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[EventRead], PageInfo]:
    await load_project(db, user_id=user_id, project_id=project_id)
    events, info = await page_events(db, project_id=project_id, params=params, codec=codec)
    return [EventRead.model_validate(e) for e in events], info


async def list_members(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[MemberRead], PageInfo]:
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = (
        select(ProjectMember, User)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id)
    )
    rows, info = await paginate(
        db,
        stmt,
        order=[ProjectMember.created_at, ProjectMember.user_id],
        params=params,
        codec=codec,
        descending=False,
    )
    return [_member_read(row[0], row[1]) for row in rows], info


def _member_read(member: ProjectMember, user: User) -> MemberRead:
    return MemberRead(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=member.role,
        created_at=member.created_at,
    )


async def _target_member(
    db: AsyncSession, project_id: uuid.UUID, member_id: uuid.UUID
) -> tuple[ProjectMember, User]:
    row = (
        await db.execute(
            select(ProjectMember, User)
            .join(User, User.id == ProjectMember.user_id)
            .where(ProjectMember.project_id == project_id, ProjectMember.user_id == member_id)
        )
    ).first()
    if row is None:
        raise NotFound("Member not found")
    return row[0], row[1]


async def _ensure_another_owner(db: AsyncSession, project_id: uuid.UUID) -> None:
    owners = await db.scalar(
        select(func.count()).where(
            ProjectMember.project_id == project_id, ProjectMember.role == Role.OWNER
        )
    )
    if (owners or 0) <= 1:
        raise Conflict("A project needs at least one owner; make someone else owner first")


async def change_role(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, member_id: uuid.UUID, role: Role
) -> MemberRead:
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.OWNER, lock=True)
    member, user = await _target_member(db, project_id, member_id)
    if member.role == Role.OWNER and role != Role.OWNER:
        await _ensure_another_owner(db, project_id)
    if member.role != role:
        await record_event(
            db,
            project_id=project_id,
            actor_id=user_id,
            type="member.role_changed",
            data={"user_id": str(member_id), "from": member.role, "to": role},
        )
        member.role = role
        await db.flush()
    return _member_read(member, user)


async def remove_member(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    _, role = await load_project(db, user_id=user_id, project_id=project_id, lock=True)
    if member_id != user_id and role != Role.OWNER:
        raise Forbidden("Only an owner can remove other members")
    member, _ = await _target_member(db, project_id, member_id)
    if member.role == Role.OWNER:
        await _ensure_another_owner(db, project_id)
    await db.delete(member)
    await record_event(
        db,
        project_id=project_id,
        actor_id=user_id,
        type="member.removed",
        data={"user_id": str(member_id)},
    )
