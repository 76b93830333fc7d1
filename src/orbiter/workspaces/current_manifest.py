"""A workspace's current manifest, moved by compare-and-set.

The new manifest must be one the caller may use in the project (`require_usable_manifest`):
docs, drift and sync read file contents through it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.usable import require_usable_manifest
from orbiter.core.errors import Conflict
from orbiter.core.time import utcnow
from orbiter.models import DeploymentSettings, Role, Workspace
from orbiter.queue import Job, after_commit
from orbiter.storage import BlobStore
from orbiter.workspaces.access import load_workspace
from orbiter.workspaces.schemas import CurrentManifestResult

MANIFEST_MOVED_JOB = "workspaces.manifest_moved"


async def compare_and_set(
    db: AsyncSession,
    *,
    workspace_id: uuid.UUID,
    manifest_hash: str,
    previous: str | None,
    check_previous: bool,
) -> int | None:
    """The new version, or None when `check_previous` and `previous` is no longer current."""
    stmt = update(Workspace).where(Workspace.id == workspace_id)
    if check_previous:
        stmt = stmt.where(Workspace.current_manifest_hash.is_not_distinct_from(previous))
    stmt = (
        stmt.values(
            current_manifest_hash=manifest_hash,
            version=Workspace.version + 1,
            updated_at=utcnow(),
        )
        .returning(Workspace.version)
        .execution_options(synchronize_session=False)
    )
    version = (await db.execute(stmt)).scalar()
    if version is not None:
        await _announce_move(db, workspace_id, manifest_hash)
    return version


async def _announce_move(db: AsyncSession, workspace_id: uuid.UUID, manifest_hash: str) -> None:
    """When the workspace deploys on every change (its deployment settings' `auto_deploy`),
    the `MANIFEST_MOVED_JOB` goes after commit (the deploy pipeline handles it)."""
    auto = await db.scalar(
        select(DeploymentSettings.auto_deploy).where(
            DeploymentSettings.workspace_id == workspace_id
        )
    )
    if auto:
        payload = {"workspace_id": str(workspace_id), "manifest_hash": manifest_hash}
        after_commit(db, Job(MANIFEST_MOVED_JOB, payload))


async def _lost_race(db: AsyncSession, workspace_id: uuid.UUID) -> Conflict:
    """The 409 for a writer whose previous hash is stale, with what is current now."""
    current_hash, version = (
        await db.execute(
            select(Workspace.current_manifest_hash, Workspace.version).where(
                Workspace.id == workspace_id
            )
        )
    ).one()
    return Conflict(
        "The workspace's current manifest is no longer previous_manifest_hash",
        details={
            "updated": False,
            "conflict": True,
            "current_manifest_hash": current_hash,
            "version": version,
        },
    )


async def set_current_manifest(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    manifest_hash: str,
    previous: str | None,
    check_previous: bool,
) -> CurrentManifestResult:
    """Compare-and-set in one conditional UPDATE: of two writers expecting the same previous
    hash exactly one succeeds; the other gets 409 with what is current."""
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    await require_usable_manifest(
        db, store, user_id=user_id, project_id=workspace.project_id, hash_=manifest_hash
    )
    version = await compare_and_set(
        db,
        workspace_id=workspace.id,
        manifest_hash=manifest_hash,
        previous=previous,
        check_previous=check_previous,
    )
    if version is None:
        raise await _lost_race(db, workspace.id)
    return CurrentManifestResult(updated=True, current_manifest_hash=manifest_hash, version=version)
