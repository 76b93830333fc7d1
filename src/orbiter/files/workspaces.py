"""Which workspace a /files request works on: the one named, or the caller's scratch workspace.

The scratch workspace is the workspace named `scratch` in the caller's personal project (which
nobody else can join), made by the first write that needs it. Racing first writes make one:
the project lock (`create_workspace`) serialises them, and the loser of a race finds the
winner's workspace by its name.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import Conflict, NotFound
from orbiter.models import Role, Workspace
from orbiter.tenancy.projects import personal_project_id
from orbiter.workspaces.access import load_workspace
from orbiter.workspaces.schemas import WorkspaceCreate
from orbiter.workspaces.service import create_workspace

SCRATCH_NAME = "scratch"


async def _find_scratch(db: AsyncSession, project_id: uuid.UUID) -> Workspace | None:
    stmt = select(Workspace).where(
        Workspace.project_id == project_id, Workspace.name == SCRATCH_NAME
    )
    return (await db.scalars(stmt.execution_options(populate_existing=True))).first()


async def readable_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID | None
) -> Workspace | None:
    """The workspace to read (viewer or more); None: the scratch workspace is not made yet."""
    if workspace_id is not None:
        return await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    return await _find_scratch(db, await personal_project_id(db, user_id=user_id))


async def writable_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID | None
) -> Workspace:
    """The workspace to change (editor or more), the scratch one made when missing."""
    if workspace_id is not None:
        return await load_workspace(
            db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
        )
    project_id = await personal_project_id(db, user_id=user_id)
    found = await _find_scratch(db, project_id)
    if found is not None:
        return found
    try:
        made = await create_workspace(
            db, user_id=user_id, project_id=project_id, body=WorkspaceCreate(name=SCRATCH_NAME)
        )
    except Conflict:  # a racing first write made it
        found = await _find_scratch(db, project_id)
        if found is None:
            raise
        return found
    workspace = await db.get(Workspace, made.id)
    assert workspace is not None  # just added in this transaction
    return workspace


async def lock_workspace(db: AsyncSession, workspace_id: uuid.UUID) -> tuple[str | None, int]:
    """Hold the workspace row until commit and read its current manifest and version.

    Writers of one workspace take turns from here, so the compare-and-set that moves it only
    fails for a base that was stale before the turn began. SQLite has no FOR UPDATE: a no-op
    write takes its database write lock.
    """
    stmt = select(Workspace.current_manifest_hash, Workspace.version).where(
        Workspace.id == workspace_id
    )
    if db.get_bind().dialect.name == "sqlite":
        await db.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(version=Workspace.version)
            .execution_options(synchronize_session=False)
        )
    else:
        stmt = stmt.with_for_update()
    row = (await db.execute(stmt)).first()
    if row is None:  # deleted by a racing request
        raise NotFound("Workspace not found")
    return row[0], row[1]
