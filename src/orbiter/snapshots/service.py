"""Snapshots: immutable records of a project's tree (a manifest), linked by their parents.

A snapshot is registered only when the caller may use its manifest in the project
(`blobs.usable.require_usable_manifest`: they hold it and every blob it names, or the project
already uses it). Project members read the project's snapshots and manifests whoever uploaded
them.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import ManifestEntry
from orbiter.blobs.usable import require_usable_manifest
from orbiter.core.errors import BadRequest, Conflict, ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.models import Role, Snapshot, Workspace
from orbiter.snapshots.schemas import (
    DiffCounts,
    SnapshotCreate,
    SnapshotDiff,
    SnapshotInsights,
    SnapshotRead,
)
from orbiter.storage import BlobStore
from orbiter.tenancy.access import check_references, load_project, load_project_row, load_reference
from orbiter.tenancy.events import record_event

DEFAULT_SOURCE = "cli"


def snapshot_read(snapshot: Snapshot) -> SnapshotRead:
    return SnapshotRead.model_validate(snapshot)


async def load_snapshot(
    db: AsyncSession, *, user_id: uuid.UUID, snapshot_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> Snapshot:
    """The snapshot when the caller is a member of its project; 404 otherwise."""
    return await load_project_row(
        db, Snapshot, snapshot_id, user_id=user_id, min_role=min_role, label="Snapshot"
    )


def _idempotent(existing: Snapshot, project_id: uuid.UUID, manifest_hash: str) -> Snapshot:
    if existing.project_id != project_id:
        # Said without naming where it is taken, so another project's id is not confirmed.
        raise ValidationFailed.for_field(
            "snapshot_id", f"snapshot_id {existing.id} cannot be used; leave it out or pick another"
        )
    if existing.manifest_hash != manifest_hash:
        raise Conflict(
            "A snapshot with this snapshot_id exists with a different manifest",
            details={"field": "snapshot_id", "manifest_hash": existing.manifest_hash},
        )
    return existing


async def _check_references(
    db: AsyncSession, *, project_id: uuid.UUID, body: SnapshotCreate
) -> list[uuid.UUID]:
    parents = list(dict.fromkeys(body.parent_snapshot_ids))
    if body.snapshot_id is not None and body.snapshot_id in parents:
        raise BadRequest(
            "A snapshot cannot be its own parent", details={"field": "parent_snapshot_ids"}
        )
    await check_references(
        db,
        Snapshot,
        parents,
        project_id=project_id,
        field="parent_snapshot_ids",
        label="Snapshot",
    )
    if body.workspace_id is not None:
        await load_reference(
            db,
            Workspace,
            body.workspace_id,
            project_id=project_id,
            field="workspace_id",
            label="Workspace",
        )
    return parents


async def _record_created(db: AsyncSession, snapshot: Snapshot, *, user_id: uuid.UUID) -> None:
    await record_event(
        db,
        project_id=snapshot.project_id,
        actor_id=user_id,
        type="snapshot.created",
        data={
            "snapshot_id": str(snapshot.id),
            "manifest_hash": snapshot.manifest_hash,
            "workspace_id": str(snapshot.workspace_id) if snapshot.workspace_id else None,
            "source": snapshot.source,
        },
    )


async def create_snapshot(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    body: SnapshotCreate,
    default_source: str = DEFAULT_SOURCE,
) -> tuple[SnapshotRead, bool]:
    """Register a snapshot; `(snapshot, False)` when `snapshot_id` already names it."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    if body.snapshot_id is not None:
        existing = await db.get(Snapshot, body.snapshot_id)
        if existing is not None:
            return snapshot_read(_idempotent(existing, project_id, body.manifest_hash)), False
    parents = await _check_references(db, project_id=project_id, body=body)
    await require_usable_manifest(
        db, store, user_id=user_id, project_id=project_id, hash_=body.manifest_hash
    )
    snapshot = Snapshot(
        id=body.snapshot_id or uuid.uuid4(),
        project_id=project_id,
        workspace_id=body.workspace_id,
        manifest_hash=body.manifest_hash,
        parent_snapshot_ids=[str(p) for p in parents],
        source=body.source or default_source,
        message=body.message,
        created_by=user_id,
    )
    try:
        async with db.begin_nested():
            db.add(snapshot)
    except IntegrityError:
        # A concurrent request registered the same snapshot_id first.
        existing = await db.get(Snapshot, snapshot.id, populate_existing=True)
        if existing is None:
            raise
        return snapshot_read(_idempotent(existing, project_id, body.manifest_hash)), False
    await _record_created(db, snapshot, user_id=user_id)
    return snapshot_read(snapshot), True


async def page_snapshots(
    db: AsyncSession,
    *,
    project_id: uuid.UUID,
    workspace_id: uuid.UUID | None = None,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[SnapshotRead], PageInfo]:
    """Newest first. The caller has checked access to the project (and workspace)."""
    stmt = select(Snapshot).where(Snapshot.project_id == project_id)
    if workspace_id is not None:
        stmt = stmt.where(Snapshot.workspace_id == workspace_id)
    rows, info = await paginate(
        db, stmt, order=[Snapshot.created_at, Snapshot.id], params=params, codec=codec
    )
    return [snapshot_read(row[0]) for row in rows], info


async def list_project_snapshots(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[SnapshotRead], PageInfo]:
    await load_project(db, user_id=user_id, project_id=project_id)
    return await page_snapshots(db, project_id=project_id, params=params, codec=codec)


async def get_snapshot(
    db: AsyncSession, *, user_id: uuid.UUID, snapshot_id: uuid.UUID
) -> SnapshotRead:
    return snapshot_read(await load_snapshot(db, user_id=user_id, snapshot_id=snapshot_id))


async def _diff_base(
    db: AsyncSession, snapshot: Snapshot, against: uuid.UUID | None
) -> Snapshot | None:
    """`against` when it names a snapshot of the same project, by default the first parent."""
    if against is not None:
        return await load_reference(
            db, Snapshot, against, project_id=snapshot.project_id, field="against", label="Snapshot"
        )
    if snapshot.parent_snapshot_ids:
        return await db.get(Snapshot, uuid.UUID(snapshot.parent_snapshot_ids[0]))
    return None


def _same_entry(entry: ManifestEntry, before: ManifestEntry) -> bool:
    return (entry.type, entry.hash, entry.target, entry.mode) == (
        before.type,
        before.hash,
        before.target,
        before.mode,
    )


def _classify_paths(
    new: dict[str, ManifestEntry], old: dict[str, ManifestEntry]
) -> tuple[list[str], list[str], list[str], int]:
    """Paths added, modified and deleted going from `old` to `new`, and how many are unchanged."""
    added, modified = [], []
    unchanged = 0
    for path, entry in new.items():
        before = old.get(path)
        if before is None:
            added.append(path)
        elif not _same_entry(entry, before):
            modified.append(path)
        else:
            unchanged += 1
    deleted = [path for path in old if path not in new]
    return added, modified, deleted, unchanged


async def diff_snapshot(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    snapshot_id: uuid.UUID,
    against: uuid.UUID | None,
) -> SnapshotDiff:
    """Paths added, modified and deleted going from `against` (default: first parent) to it."""
    snapshot = await load_snapshot(db, user_id=user_id, snapshot_id=snapshot_id)
    base = await _diff_base(db, snapshot, against)
    new = (await read_manifest(store, snapshot.manifest_hash)).by_path()
    old = (await read_manifest(store, base.manifest_hash if base else None)).by_path()
    added, modified, deleted, unchanged = _classify_paths(new, old)
    return SnapshotDiff(
        snapshot_id=snapshot.id,
        against=base.id if base else None,
        manifest_hash=snapshot.manifest_hash,
        against_manifest_hash=base.manifest_hash if base else None,
        added=added,
        modified=modified,
        deleted=deleted,
        counts=DiffCounts(
            added=len(added), modified=len(modified), deleted=len(deleted), unchanged=unchanged
        ),
    )


async def latest_snapshot(db: AsyncSession, *, project_id: uuid.UUID) -> Snapshot | None:
    recent = await recent_snapshots(db, project_id=project_id, limit=1)
    return recent[0] if recent else None


async def recent_snapshots(
    db: AsyncSession, *, project_id: uuid.UUID, limit: int
) -> list[Snapshot]:
    stmt = (
        select(Snapshot)
        .where(Snapshot.project_id == project_id)
        .order_by(Snapshot.created_at.desc(), Snapshot.id.desc())
        .limit(limit)
    )
    return list((await db.scalars(stmt)).all())


async def snapshot_insights(
    db: AsyncSession, *, project_id: uuid.UUID, latest: Snapshot | None
) -> SnapshotInsights:
    """The project's snapshot count and newest snapshot (`latest`).

    Nothing merges or deploys yet (sync and deployments are not built), so the merge and deploy
    times are null and every snapshot counts as one since the last merge and deploy.
    """
    total = int(await db.scalar(select(func.count()).where(Snapshot.project_id == project_id)) or 0)
    return SnapshotInsights(
        total_snapshots=total,
        last_snapshot_id=latest.id if latest else None,
        last_snapshot_at=latest.created_at if latest else None,
        last_merge_at=None,
        last_deploy_at=None,
        snapshots_since_merge=total,
        snapshots_since_deploy=total,
    )
