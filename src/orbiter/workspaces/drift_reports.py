"""Drift reports: a workspace compared with another one of its project (stored as `compare`
reports), or drift measured by a CLI (`reported`), and reading them back.

A workspace's files ("state") for drift are, with `include_dirty` (the default), its current
manifest when one was set; otherwise, or without `include_dirty`, the manifest of its latest
snapshot, else of the snapshot it was based on; else it has none (compared as empty).
The comparison itself is the pure `workspaces.drift`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import read_manifest
from orbiter.core.time import utcnow
from orbiter.models import DriftReport, Role, Snapshot, Workspace
from orbiter.storage import BlobStore
from orbiter.tenancy.access import load_reference
from orbiter.tenancy.events import record_event
from orbiter.workspaces.access import load_workspace, workspace_read
from orbiter.workspaces.drift import compare_manifests, report_details, staleness_hours
from orbiter.workspaces.schemas import (
    DriftCompareResult,
    DriftDetail,
    DriftReportCreate,
    DriftReportList,
    DriftReportRead,
    WorkspaceDetail,
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


def _compare_inputs(mine: State, theirs: State, include_dirty: bool) -> dict[str, Any]:
    """What a compare depends on: a stored compare with the same inputs can stand for it."""
    return {
        "workspace_manifest_hash": mine.manifest_hash,
        "source_manifest_hash": theirs.manifest_hash,
        "include_dirty": include_dirty,
        "workspace_snapshot_id": str(mine.snapshot_id) if mine.snapshot_id else None,
        "source_snapshot_id": str(theirs.snapshot_id) if theirs.snapshot_id else None,
    }


async def _reusable_compare(
    db: AsyncSession, workspace: Workspace, source: Workspace, inputs: dict[str, Any]
) -> DriftReport | None:
    """The latest stored compare of the two workspaces when it had the same inputs."""
    previous = await _latest_compare(db, workspace, source)
    if previous is not None and all(previous.details.get(k) == v for k, v in inputs.items()):
        return previous
    return None


async def _store_compare(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    workspace: Workspace,
    source: Workspace,
    inputs: dict[str, Any],
) -> DriftReport:
    """Compare the two manifests named in `inputs` and add the result as a compare report."""
    comparison = compare_manifests(
        await read_manifest(store, inputs["workspace_manifest_hash"]),
        await read_manifest(store, inputs["source_manifest_hash"]),
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
    return report


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
    inputs = _compare_inputs(mine, theirs, include_dirty)
    if reuse:
        if mine.manifest_hash is None and theirs.manifest_hash is None:
            return None
        previous = await _reusable_compare(db, workspace, source, inputs)
        if previous is not None:
            return detail_read(previous, utcnow())
    report = await _store_compare(
        db, store, user_id=user_id, workspace=workspace, source=source, inputs=inputs
    )
    return detail_read(report, utcnow())


async def main_workspace(db: AsyncSession, project_id: uuid.UUID) -> Workspace | None:
    stmt = select(Workspace).where(Workspace.project_id == project_id, Workspace.is_main.is_(True))
    return (await db.scalars(stmt.limit(1))).first()


async def workspace_detail(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> WorkspaceDetail:
    """The workspace and its drift against the project's main workspace (reusing the last
    compare of the same two states)."""
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


async def _compare_source(
    db: AsyncSession, workspace: Workspace, source_workspace_id: uuid.UUID | None
) -> Workspace | None:
    """The named workspace of the same project, by default the main one."""
    if source_workspace_id is None:
        return await main_workspace(db, workspace.project_id)
    return await load_reference(
        db,
        Workspace,
        source_workspace_id,
        project_id=workspace.project_id,
        field="source_workspace_id",
        label="Workspace",
    )


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
    source = await _compare_source(db, workspace, source_workspace_id)
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
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
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
