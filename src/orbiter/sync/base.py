"""The merge base of a sync, over the snapshot DAG (API.md, "Sync"), first that applies:

1. the snapshot this workspace last merged from main (`last_merged_snapshot_id`);
2. the fork point when one forked from the other: this workspace's base snapshot when it is a
   snapshot of main, or main's base snapshot when it is a snapshot of this workspace;
3. the earlier base snapshot of two siblings (both have one);
4. this workspace's base snapshot;
5. else none: an empty manifest (a two-way merge).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.models import Snapshot, Workspace


@dataclass(frozen=True)
class MergeBase:
    snapshot: Snapshot | None
    rule: str  # last_merged | fork_point | sibling_base | workspace_base | empty


async def _snapshot(
    db: AsyncSession, project_id: uuid.UUID, id_: uuid.UUID | None
) -> Snapshot | None:
    if id_ is None:
        return None
    found = await db.get(Snapshot, id_)
    return found if found is not None and found.project_id == project_id else None


async def merge_base(db: AsyncSession, workspace: Workspace, main: Workspace) -> MergeBase:
    project = workspace.project_id
    merged = await _snapshot(db, project, workspace.last_merged_snapshot_id)
    if merged is not None:
        return MergeBase(merged, "last_merged")
    mine = await _snapshot(db, project, workspace.base_snapshot_id)
    theirs = await _snapshot(db, project, main.base_snapshot_id)
    if mine is not None and mine.workspace_id == main.id:
        return MergeBase(mine, "fork_point")
    if theirs is not None and theirs.workspace_id == workspace.id:
        return MergeBase(theirs, "fork_point")
    if mine is not None and theirs is not None:
        earlier = min((mine, theirs), key=lambda s: (s.created_at, str(s.id)))
        return MergeBase(earlier, "sibling_base")
    if mine is not None:
        return MergeBase(mine, "workspace_base")
    return MergeBase(None, "empty")
