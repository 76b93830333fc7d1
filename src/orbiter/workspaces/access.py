"""Loading a workspace through its project's membership, and its public shape."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.models import Role, Workspace
from orbiter.tenancy.access import load_project_row
from orbiter.workspaces.schemas import WorkspaceRead


def workspace_read(workspace: Workspace) -> WorkspaceRead:
    return WorkspaceRead.model_validate(workspace)


async def load_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> Workspace:
    """The workspace when the caller is a member of its project: 404 otherwise, 403 when the
    role is too low."""
    return await load_project_row(
        db, Workspace, workspace_id, user_id=user_id, min_role=min_role, label="Workspace"
    )
