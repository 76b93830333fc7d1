"""Listing and dismissing action items: stored findings, drift items, failed deployments.

The list is bounded: the caller's newest `MAX_WORKSPACES` workspaces (in one project with
`project_id`), their stored findings (up to `MAX_STORED`), their latest drift, and the projects' failed
deployments (each workspace's latest deployment when it failed, up to `MAX_DEPLOYMENTS`); it is then
sorted critical first (newest first within a severity) and paged by the keyset contract.
Listing also asks for an analysis of each listed workspace's current files when it has none
(see `analysis.py`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.action_items.analysis import request_analyses
from orbiter.action_items.computed import deployment_item, drift_item
from orbiter.action_items.schemas import ActionItemRead
from orbiter.core.errors import NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate_items
from orbiter.core.time import utcnow
from orbiter.infrastructure.deploy.records import failed_deployments
from orbiter.models import ActionItem, ActionItemDismissal, Role, Workspace
from orbiter.tenancy.access import load_project, member_project_ids
from orbiter.workspaces.drift_reports import latest_reports, workspace_state

MAX_WORKSPACES = 200
MAX_STORED = 1000
MAX_DEPLOYMENTS = 100
RANK = {"critical": 3, "high": 2, "medium": 1, "low": 0}


def stored_read(row: ActionItem) -> ActionItemRead:
    return ActionItemRead(
        id=row.id,
        kind=row.kind,
        severity=row.severity,
        title=row.title,
        description=row.description,
        project_id=row.project_id,
        workspace_id=row.workspace_id,
        path=row.path,
        line=row.line,
        source="analysis",
        details={"rule": row.rule, "manifest_hash": row.manifest_hash},
        dismissed=False,
        dismissed_at=None,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class Scope:
    project_ids: list[uuid.UUID]
    workspaces: list[Workspace]


async def _scope(db: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID | None) -> Scope:
    """The projects listed (one with `project_id`, 404 when not a member) and their newest
    workspaces."""
    if project_id is not None:
        await load_project(db, user_id=user_id, project_id=project_id)
        project_ids = [project_id]
    else:
        project_ids = list((await db.scalars(member_project_ids(user_id))).all())
    stmt = (
        select(Workspace)
        .where(Workspace.project_id.in_(project_ids))
        .order_by(Workspace.created_at.desc(), Workspace.id.desc())
        .limit(MAX_WORKSPACES)
    )
    return Scope(project_ids, list((await db.scalars(stmt)).all()))


async def _with_dismissals(db: AsyncSession, items: list[ActionItemRead]) -> list[ActionItemRead]:
    if not items:
        return items
    rows = (
        await db.scalars(
            select(ActionItemDismissal).where(
                ActionItemDismissal.item_id.in_([item.id for item in items])
            )
        )
    ).all()
    when = {row.item_id: row.created_at for row in rows}
    return [
        item.model_copy(update={"dismissed": True, "dismissed_at": when[item.id]})
        if item.id in when
        else item
        for item in items
    ]


async def collect(db: AsyncSession, scope: Scope, *, analyse: bool) -> list[ActionItemRead]:
    """Every item of the scope, with their dismissals; `analyse`: ask for analyses."""
    workspaces = scope.workspaces
    by_id = {workspace.id: workspace for workspace in workspaces}
    items = [
        deployment_item(deployment)
        for deployment in await failed_deployments(
            db, project_ids=scope.project_ids, limit=MAX_DEPLOYMENTS
        )
    ]
    for workspace_id, report in (await latest_reports(db, list(by_id))).items():
        item = drift_item(by_id[workspace_id], report)
        if item is not None:
            items.append(item)
    stored = await db.scalars(
        select(ActionItem)
        .where(ActionItem.workspace_id.in_(list(by_id)))
        .order_by(ActionItem.created_at.desc())
        .limit(MAX_STORED)
    )
    items += [stored_read(row) for row in stored.all()]
    if analyse:
        wanted: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
        for workspace in workspaces:
            state = await workspace_state(db, workspace, include_dirty=True)
            if state.manifest_hash is not None:
                wanted[workspace.id] = (workspace.project_id, state.manifest_hash)
        await request_analyses(db, wanted)
    return await _with_dismissals(db, items)


def sort_key(item: ActionItemRead) -> tuple[Any, ...]:
    return (RANK[item.severity], item.created_at, str(item.id))


async def list_items(
    db: AsyncSession,
    codec: CursorCodec,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID | None,
    include_dismissed: bool,
    params: PageParams,
) -> tuple[list[ActionItemRead], PageInfo]:
    items = await collect(db, await _scope(db, user_id, project_id), analyse=True)
    if not include_dismissed:
        items = [item for item in items if not item.dismissed]
    return paginate_items(items, key=sort_key, params=params, codec=codec)


async def find_item(
    db: AsyncSession, *, user_id: uuid.UUID, item_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> ActionItemRead:
    """The item the caller can see (404 otherwise; 403 below `min_role` in its project)."""
    row = await db.get(ActionItem, item_id)
    if row is not None:
        await _visible(db, user_id, row.project_id, min_role)
        return (await _with_dismissals(db, [stored_read(row)]))[0]
    for item in await collect(db, await _scope(db, user_id, None), analyse=False):
        if item.id == item_id:
            await _visible(db, user_id, item.project_id, min_role)
            return item
    raise NotFound("Action item not found")


async def _visible(
    db: AsyncSession, user_id: uuid.UUID, project_id: uuid.UUID, min_role: Role
) -> None:
    try:
        await load_project(db, user_id=user_id, project_id=project_id, min_role=min_role)
    except NotFound:
        raise NotFound("Action item not found") from None


async def dismiss(db: AsyncSession, *, user_id: uuid.UUID, item_id: uuid.UUID) -> ActionItemRead:
    """Dismiss the item for everyone in its project (editor or owner); dismissing again
    changes nothing."""
    item = await find_item(db, user_id=user_id, item_id=item_id, min_role=Role.EDITOR)
    if item.dismissed:
        return item
    now = utcnow()
    db.add(
        ActionItemDismissal(
            item_id=item.id, project_id=item.project_id, dismissed_by=user_id, created_at=now
        )
    )
    await db.flush()
    return item.model_copy(update={"dismissed": True, "dismissed_at": now})
