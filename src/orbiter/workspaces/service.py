"""Workspaces: a project's working copies, the main one, their current manifest (compare-and-set)
and their drift against each other.

A workspace's files ("state") for drift are, with `include_dirty` (the default), its current
manifest when one was set; otherwise, or without `include_dirty`, the manifest of its latest
snapshot, else of the snapshot it was based on; else it has none (compared as empty).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import BadRequest, Conflict, NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.time import utcnow
from orbiter.models import DriftReport, Snapshot, Workspace
from orbiter.projects.access import load_project
from orbiter.projects.events import record_event
from orbiter.snapshots.schemas import SnapshotRead
from orbiter.snapshots.service import page_snapshots, require_manifest
from orbiter.storage import BlobStore
from orbiter.workspaces.drift import compare_manifests, report_details, staleness_hours
from orbiter.workspaces.manifest_cache import load_manifest
from orbiter.workspaces.schemas import (
    CurrentManifestResult,
    DriftCompareResult,
    DriftDetail,
    DriftReportCreate,
    DriftReportList,
    DriftReportRead,
    HeartbeatResult,
    SetMainResult,
    WorkspaceCreate,
    WorkspaceDetail,
    WorkspaceListItem,
    WorkspaceRead,
    WorkspaceUpdate,
)

MAX_DRIFT_REPORTS = 100
COMPARE_FIELDS = (
    "workspace_manifest_hash",
    "source_manifest_hash",
    "counts",
    "total_drift_files",
    "has_overlaps",
    "overlap_ratio",
    "risk_level",
    "top_overlap_files",
    "counts_by_ext",
    "large_files_changed",
)
DETAIL_FIELDS = (
    "include_dirty",
    "workspace_snapshot_id",
    "source_snapshot_id",
    "source_only",
    "workspace_only",
    "both_same",
    "both_different",
    "large_files",
    "truncated",
)


def workspace_read(workspace: Workspace) -> WorkspaceRead:
    return WorkspaceRead.model_validate(workspace)


async def load_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID, min_role: str = "viewer"
) -> Workspace:
    """The workspace when the caller is a member of its project: 404 otherwise, 403 when the
    role is too low."""
    workspace = await db.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("Workspace not found")
    try:
        await load_project(db, user_id=user_id, project_id=workspace.project_id, min_role=min_role)
    except NotFound as exc:
        raise NotFound("Workspace not found") from exc
    return workspace


async def _lock_project(db: AsyncSession, workspace: Workspace, user_id: uuid.UUID) -> Workspace:
    """Serialise main-workspace changes per project, then re-read the workspace."""
    await load_project(
        db, user_id=user_id, project_id=workspace.project_id, min_role="editor", lock=True
    )
    await db.refresh(workspace)
    return workspace


def _duplicate(name: str) -> Conflict:
    return Conflict(
        "This project already has a workspace with this name",
        details={"field": "name", "name": name},
    )


async def _name_taken(
    db: AsyncSession, project_id: uuid.UUID, name: str, but: uuid.UUID | None = None
) -> bool:
    clause = exists().where(Workspace.project_id == project_id, Workspace.name == name)
    if but is not None:
        clause = clause.where(Workspace.id != but)
    return bool(await db.scalar(select(clause)))


async def create_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, body: WorkspaceCreate
) -> WorkspaceRead:
    """Editor or owner. The project's first workspace becomes its main workspace."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role="editor", lock=True)
    if body.base_snapshot_id is not None:
        base_project = await db.scalar(
            select(Snapshot.project_id).where(Snapshot.id == body.base_snapshot_id)
        )
        if base_project != project_id:
            raise BadRequest(
                "base_snapshot_id must name a snapshot of this project",
                details={"field": "base_snapshot_id"},
            )
    if await _name_taken(db, project_id, body.name):
        raise _duplicate(body.name)
    has_main = await db.scalar(
        select(exists().where(Workspace.project_id == project_id, Workspace.is_main.is_(True)))
    )
    workspace = Workspace(
        project_id=project_id,
        name=body.name,
        machine_id=body.machine_id,
        local_path=body.local_path,
        base_snapshot_id=body.base_snapshot_id,
        is_main=not has_main,
        version=0,
        created_by=user_id,
    )
    try:
        async with db.begin_nested():
            db.add(workspace)
    except IntegrityError as exc:
        raise _duplicate(body.name) from exc
    await record_event(
        db,
        project_id=project_id,
        actor_id=user_id,
        type="workspace.created",
        data={
            "workspace_id": str(workspace.id),
            "name": workspace.name,
            "is_main": workspace.is_main,
        },
    )
    return workspace_read(workspace)


async def latest_reports(
    db: AsyncSession, workspace_ids: list[uuid.UUID]
) -> dict[uuid.UUID, DriftReport]:
    """Each workspace's most recent drift report, in one query."""
    if not workspace_ids:
        return {}
    latest_id = (
        select(DriftReport.id)
        .where(DriftReport.workspace_id == Workspace.id)
        .order_by(DriftReport.created_at.desc(), DriftReport.id.desc())
        .limit(1)
        .correlate(Workspace)
        .scalar_subquery()
    )
    stmt = (
        select(DriftReport)
        .join(Workspace, DriftReport.id == latest_id)
        .where(Workspace.id.in_(workspace_ids))
    )
    return {report.workspace_id: report for report in (await db.scalars(stmt)).all()}


async def workspace_items(db: AsyncSession, workspaces: list[Workspace]) -> list[WorkspaceListItem]:
    reports = await latest_reports(db, [w.id for w in workspaces])
    now = utcnow()
    return [
        WorkspaceListItem(
            **workspace_read(w).model_dump(),
            latest_drift=report_read(reports[w.id], now) if w.id in reports else None,
        )
        for w in workspaces
    ]


async def list_workspaces(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[WorkspaceListItem], PageInfo]:
    """Oldest first (the main workspace is usually the first), each with its latest report."""
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = select(Workspace).where(Workspace.project_id == project_id)
    rows, info = await paginate(
        db,
        stmt,
        order=[Workspace.created_at, Workspace.id],
        params=params,
        codec=codec,
        descending=False,
    )
    return await workspace_items(db, [row[0] for row in rows]), info


async def project_workspaces(db: AsyncSession, *, project_id: uuid.UUID) -> list[WorkspaceListItem]:
    """All of a project's workspaces (for the project detail); access already checked."""
    stmt = (
        select(Workspace)
        .where(Workspace.project_id == project_id)
        .order_by(Workspace.created_at, Workspace.id)
    )
    return await workspace_items(db, list((await db.scalars(stmt)).all()))


async def update_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID, body: WorkspaceUpdate
) -> WorkspaceRead:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role="editor"
    )
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and await _name_taken(
        db, workspace.project_id, changes["name"], but=workspace.id
    ):
        raise _duplicate(changes["name"])
    for field, value in changes.items():
        setattr(workspace, field, value)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:
        raise _duplicate(str(changes.get("name"))) from exc
    await record_event(
        db,
        project_id=workspace.project_id,
        actor_id=user_id,
        type="workspace.updated",
        data={"workspace_id": str(workspace.id), "fields": sorted(changes)},
    )
    return workspace_read(workspace)


async def delete_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> None:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role="editor"
    )
    workspace = await _lock_project(db, workspace, user_id)
    if workspace.is_main:
        raise Conflict(
            "This is the project's main workspace; make another workspace main first "
            "(POST /api/v1/workspaces/{id}/set-as-main)",
            details={"workspace_id": str(workspace.id), "is_main": True},
        )
    await db.execute(delete(Workspace).where(Workspace.id == workspace.id))
    await record_event(
        db,
        project_id=workspace.project_id,
        actor_id=user_id,
        type="workspace.deleted",
        data={"workspace_id": str(workspace.id), "name": workspace.name},
    )


async def heartbeat(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> HeartbeatResult:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role="editor"
    )
    workspace.last_seen_at = utcnow()
    await db.flush()
    return HeartbeatResult(success=True, last_seen_at=workspace.last_seen_at)


async def set_as_main(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> SetMainResult:
    """Exactly one main workspace per project: one UPDATE flips every flag under a lock."""
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role="editor"
    )
    workspace = await _lock_project(db, workspace, user_id)
    mains = list(
        (
            await db.scalars(
                select(Workspace.id).where(
                    Workspace.project_id == workspace.project_id, Workspace.is_main.is_(True)
                )
            )
        ).all()
    )
    if mains != [workspace.id]:
        await db.execute(
            update(Workspace)
            .where(Workspace.project_id == workspace.project_id)
            .values(is_main=case((Workspace.id == workspace.id, True), else_=False))
            .execution_options(synchronize_session=False)
        )
        await record_event(
            db,
            project_id=workspace.project_id,
            actor_id=user_id,
            type="workspace.main_changed",
            data={
                "workspace_id": str(workspace.id),
                "previous_main_workspace_id": str(mains[0]) if mains else None,
            },
        )
    return SetMainResult(success=True, main_workspace_id=workspace.id)


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
        db, user_id=user_id, workspace_id=workspace_id, min_role="editor"
    )
    await require_manifest(
        db,
        store,
        user_id=user_id,
        project_id=workspace.project_id,
        hash_=manifest_hash,
        with_blobs=False,
    )
    stmt = update(Workspace).where(Workspace.id == workspace.id)
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
    if version is None:
        row = (
            await db.execute(
                select(Workspace.current_manifest_hash, Workspace.version).where(
                    Workspace.id == workspace.id
                )
            )
        ).one()
        raise Conflict(
            "The workspace's current manifest is no longer previous_manifest_hash",
            details={
                "updated": False,
                "conflict": True,
                "current_manifest_hash": row[0],
                "version": row[1],
            },
        )
    return CurrentManifestResult(updated=True, current_manifest_hash=manifest_hash, version=version)


async def list_workspace_snapshots(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[SnapshotRead], PageInfo]:
    workspace = await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    return await page_snapshots(
        db, project_id=workspace.project_id, workspace_id=workspace.id, params=params, codec=codec
    )


# --- drift -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    manifest_hash: str | None
    snapshot_id: uuid.UUID | None  # None when it is the current (possibly dirty) manifest


async def workspace_state(db: AsyncSession, workspace: Workspace, include_dirty: bool) -> State:
    if include_dirty and workspace.current_manifest_hash:
        return State(workspace.current_manifest_hash, None)
    latest = (
        await db.scalars(
            select(Snapshot)
            .where(Snapshot.workspace_id == workspace.id)
            .order_by(Snapshot.created_at.desc(), Snapshot.id.desc())
            .limit(1)
        )
    ).first()
    if latest is None and workspace.base_snapshot_id is not None:
        latest = await db.get(Snapshot, workspace.base_snapshot_id)
    if latest is None or latest.project_id != workspace.project_id:
        return State(None, None)
    return State(latest.manifest_hash, latest.id)


def report_read(report: DriftReport, now: datetime) -> DriftReportRead:
    details = report.details if report.kind == "compare" else {}
    return DriftReportRead(
        id=report.id,
        workspace_id=report.workspace_id,
        project_id=report.project_id,
        source_workspace_id=report.source_workspace_id,
        kind=report.kind,
        files_added=report.files_added,
        files_modified=report.files_modified,
        files_deleted=report.files_deleted,
        bytes_changed=report.bytes_changed,
        summary=report.summary,
        created_by=report.created_by,
        created_at=report.created_at,
        compared_at=report.created_at,
        staleness_hours=staleness_hours(report.created_at, now),
        **{name: details.get(name) for name in COMPARE_FIELDS},
    )


def detail_read(report: DriftReport, now: datetime) -> DriftDetail:
    base = report_read(report, now).model_dump()
    return DriftDetail(**base, **{name: report.details.get(name) for name in DETAIL_FIELDS})


async def _latest_compare(
    db: AsyncSession, workspace: Workspace, source: Workspace
) -> DriftReport | None:
    stmt = (
        select(DriftReport)
        .where(
            DriftReport.workspace_id == workspace.id,
            DriftReport.source_workspace_id == source.id,
            DriftReport.kind == "compare",
        )
        .order_by(DriftReport.created_at.desc(), DriftReport.id.desc())
        .limit(1)
    )
    return (await db.scalars(stmt)).first()


async def compare(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    workspace: Workspace,
    source: Workspace,
    include_dirty: bool,
    reuse: bool,
) -> DriftDetail | None:
    """Compare `workspace` with `source` and store the result as a drift report.

    With `reuse`, the latest stored compare of the same two states is returned instead of a new
    one (its staleness then says since when the drift has stood), and None when neither side
    has any state.
    """
    mine = await workspace_state(db, workspace, include_dirty)
    theirs = await workspace_state(db, source, include_dirty)
    inputs: dict[str, Any] = {
        "workspace_manifest_hash": mine.manifest_hash,
        "source_manifest_hash": theirs.manifest_hash,
        "include_dirty": include_dirty,
        "workspace_snapshot_id": str(mine.snapshot_id) if mine.snapshot_id else None,
        "source_snapshot_id": str(theirs.snapshot_id) if theirs.snapshot_id else None,
    }
    if reuse:
        if mine.manifest_hash is None and theirs.manifest_hash is None:
            return None
        previous = await _latest_compare(db, workspace, source)
        if previous is not None and all(previous.details.get(k) == v for k, v in inputs.items()):
            return detail_read(previous, utcnow())
    comparison = compare_manifests(
        await load_manifest(store, mine.manifest_hash),
        await load_manifest(store, theirs.manifest_hash),
    )
    report = DriftReport(
        workspace_id=workspace.id,
        project_id=workspace.project_id,
        source_workspace_id=source.id,
        kind="compare",
        files_added=len(comparison.workspace_only),
        files_modified=len(comparison.both_different),
        files_deleted=len(comparison.source_only),
        bytes_changed=comparison.bytes_changed,
        summary=comparison.summary(),
        details={**inputs, **report_details(comparison)},
        created_by=user_id,
        created_at=utcnow(),
    )
    db.add(report)
    await db.flush()
    return detail_read(report, utcnow())


async def main_workspace(db: AsyncSession, project_id: uuid.UUID) -> Workspace | None:
    stmt = select(Workspace).where(Workspace.project_id == project_id, Workspace.is_main.is_(True))
    return (await db.scalars(stmt.limit(1))).first()


async def workspace_detail(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> WorkspaceDetail:
    workspace = await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    drift = None
    main = None if workspace.is_main else await main_workspace(db, workspace.project_id)
    if main is not None:
        drift = await compare(
            db,
            store,
            user_id=user_id,
            workspace=workspace,
            source=main,
            include_dirty=True,
            reuse=True,
        )
    return WorkspaceDetail(workspace=workspace_read(workspace), drift=drift)


async def compare_workspaces(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    source_workspace_id: uuid.UUID | None,
    include_dirty: bool,
) -> DriftCompareResult:
    workspace = await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    if source_workspace_id is not None:
        source = await db.get(Workspace, source_workspace_id)
        if source is None or source.project_id != workspace.project_id:
            raise BadRequest(
                "source_workspace_id must name a workspace of the same project",
                details={"field": "source_workspace_id"},
            )
    else:
        source = await main_workspace(db, workspace.project_id)
    drift = None
    if source is not None and source.id != workspace.id:
        drift = await compare(
            db,
            store,
            user_id=user_id,
            workspace=workspace,
            source=source,
            include_dirty=include_dirty,
            reuse=False,
        )
    return DriftCompareResult(
        drift=drift,
        is_main_workspace=workspace.is_main,
        source_workspace=workspace_read(source) if source is not None else None,
    )


async def report_drift(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID, body: DriftReportCreate
) -> DriftReportRead:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role="editor"
    )
    report = DriftReport(
        workspace_id=workspace.id,
        project_id=workspace.project_id,
        kind="reported",
        files_added=body.files_added,
        files_modified=body.files_modified,
        files_deleted=body.files_deleted,
        bytes_changed=body.bytes_changed,
        summary=body.summary,
        details={},
        created_by=user_id,
        created_at=utcnow(),
    )
    db.add(report)
    await db.flush()
    await record_event(
        db,
        project_id=workspace.project_id,
        actor_id=user_id,
        type="drift.reported",
        data={
            "workspace_id": str(workspace.id),
            "drift_report_id": str(report.id),
            "files_added": body.files_added,
            "files_modified": body.files_modified,
            "files_deleted": body.files_deleted,
            "bytes_changed": body.bytes_changed,
        },
    )
    return report_read(report, utcnow())


async def list_drift_reports(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID, limit: int
) -> DriftReportList:
    workspace = await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    stmt = (
        select(DriftReport)
        .where(DriftReport.workspace_id == workspace.id)
        .order_by(DriftReport.created_at.desc(), DriftReport.id.desc())
        .limit(max(1, min(limit, MAX_DRIFT_REPORTS)))
    )
    now = utcnow()
    reports = [report_read(r, now) for r in (await db.scalars(stmt)).all()]
    return DriftReportList(drift_reports=reports, latest=reports[0] if reports else None)
