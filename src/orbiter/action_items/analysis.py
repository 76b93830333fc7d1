"""Analysing a workspace's files (the `action_items.analyze` job) and storing the findings.

Trigger: listing action items (`GET /action-items`) asks for an analysis of every listed
workspace whose current files (its current manifest, else its latest snapshot) have none yet;
the job runs after the request commits. Findings are stored only while the analysed files are
still the workspace's (an analysis overtaken by a newer change stores nothing). One analysis per (workspace, manifest): a pending row
is claimed once (`running`), so a second delivery of the job does nothing; a `running` row
older than `STALE_AFTER` lost its worker and may be claimed again.

The job reads the manifest's text files through the blob store (each up to `MAX_FILE_BYTES`,
at most `MAX_FILES`), runs the pure analyzer in a thread, and replaces the workspace's stored
findings with the new ones in one transaction. A finding's id is derived from its workspace
and fingerprint, so one found again (even after it was gone a while) keeps its id and its
dismissal.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.action_items.analyzer import analyze
from orbiter.action_items.computed import computed_id
from orbiter.action_items.findings import Finding
from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import blob_key
from orbiter.core.db import transaction
from orbiter.core.time import utcnow
from orbiter.files.workspaces import lock_workspace
from orbiter.models import ActionItem, ActionItemAnalysis, Workspace
from orbiter.queue import Job, after_commit
from orbiter.runtime.resources import Resources
from orbiter.storage import BlobNotFound, BlobStore
from orbiter.workspaces.drift_reports import workspace_state

logger = logging.getLogger("orbiter.action_items")

ANALYZE_JOB = "action_items.analyze"
MAX_FILE_BYTES = 256_000
MAX_FILES = 2_000
STALE_AFTER = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=30)


def register_jobs(resources: Resources) -> None:
    resources.queue.register(ANALYZE_JOB, partial(handle_analyze, resources))


def analyze_job(analysis_id: uuid.UUID) -> Job:
    return Job(ANALYZE_JOB, {"analysis_id": str(analysis_id)})


async def request_analyses(
    db: AsyncSession, wanted: dict[uuid.UUID, tuple[uuid.UUID, str]]
) -> None:
    """Ask for an analysis of each workspace (id → (project id, manifest hash)) that has none
    for that manifest, and again for one whose job seems lost; sent after commit."""
    if not wanted:
        return
    rows = (
        await db.scalars(
            select(ActionItemAnalysis).where(ActionItemAnalysis.workspace_id.in_(list(wanted)))
        )
    ).all()
    known = {(row.workspace_id, row.manifest_hash): row for row in rows}
    now = utcnow()
    for workspace_id, (project_id, manifest_hash) in wanted.items():
        row = known.get((workspace_id, manifest_hash))
        if row is None:
            row = ActionItemAnalysis(
                workspace_id=workspace_id,
                project_id=project_id,
                manifest_hash=manifest_hash,
                status="pending",
                created_at=now,
            )
            try:
                async with db.begin_nested():  # a racing request may have asked already
                    db.add(row)
            except IntegrityError:
                continue
        elif not (row.status == "pending" and row.created_at < now - RESEND_AFTER):
            continue
        after_commit(db, analyze_job(row.id))


async def handle_analyze(resources: Resources, payload: dict[str, Any]) -> None:
    analysis_id = uuid.UUID(str(payload["analysis_id"]))
    claimed = await _claim(resources, analysis_id)
    if claimed is None:
        return
    try:
        files = await read_text_files(resources.blobs, claimed.manifest_hash)
        findings = await asyncio.to_thread(analyze, files)
        async with transaction(resources.sessionmaker) as db:
            if await _still_current(db, claimed):
                await _store_findings(db, claimed, findings)
            await _finish(db, analysis_id, "done", None)
    except Exception as exc:
        logger.exception("analysis %s failed", analysis_id)
        async with transaction(resources.sessionmaker) as db:
            await _finish(db, analysis_id, "failed", f"Analysis failed ({type(exc).__name__})")


async def _claim(resources: Resources, analysis_id: uuid.UUID) -> ActionItemAnalysis | None:
    stale = utcnow() - STALE_AFTER
    async with transaction(resources.sessionmaker) as db:
        claimed = await db.execute(
            update(ActionItemAnalysis)
            .where(
                ActionItemAnalysis.id == analysis_id,
                or_(
                    ActionItemAnalysis.status == "pending",
                    (ActionItemAnalysis.status == "running")
                    & (ActionItemAnalysis.created_at < stale),
                ),
            )
            .values(status="running", created_at=utcnow())
            .returning(ActionItemAnalysis.id)
        )
        if claimed.scalar() is None:
            return None
        return await db.get(ActionItemAnalysis, analysis_id)


async def read_text_files(store: BlobStore, manifest_hash: str) -> dict[str, str]:
    """The manifest's UTF-8 files up to the size limits (others are skipped)."""
    manifest = await read_manifest(store, manifest_hash)
    files: dict[str, str] = {}
    for entry in manifest.files:
        if entry.type != "file" or entry.hash is None or entry.size > MAX_FILE_BYTES:
            continue
        if len(files) >= MAX_FILES:
            break
        try:
            stream = await store.open_stream(blob_key(entry.hash))
        except BlobNotFound:
            continue
        data = b"".join([chunk async for chunk in stream])
        if b"\0" in data:
            continue
        try:
            files[entry.path] = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return files


async def _still_current(db: AsyncSession, analysis: ActionItemAnalysis) -> bool:
    """Whether the analysed files are still the workspace's (holding its row until commit):
    an analysis of files that moved on meanwhile must not replace a newer one's findings."""
    await lock_workspace(db, analysis.workspace_id)
    workspace = await db.get(Workspace, analysis.workspace_id, populate_existing=True)
    if workspace is None:
        return False
    state = await workspace_state(db, workspace, include_dirty=True)
    return state.manifest_hash == analysis.manifest_hash


async def _store_findings(
    db: AsyncSession, analysis: ActionItemAnalysis, findings: list[Finding]
) -> None:
    by_print = {finding.fingerprint: finding for finding in findings}
    existing = (
        await db.scalars(select(ActionItem).where(ActionItem.workspace_id == analysis.workspace_id))
    ).all()
    gone = [row.id for row in existing if row.fingerprint not in by_print]
    if gone:
        await db.execute(delete(ActionItem).where(ActionItem.id.in_(gone)))
    kept = {row.fingerprint: row for row in existing if row.fingerprint in by_print}
    now = utcnow()
    for print_, finding in by_print.items():
        row = kept.get(print_)
        if row is None:
            row = ActionItem(
                id=computed_id("finding", analysis.workspace_id, print_),
                workspace_id=analysis.workspace_id,
                project_id=analysis.project_id,
                fingerprint=print_,
                created_at=now,
            )
            db.add(row)
        row.kind, row.rule, row.severity = finding.kind, finding.rule, finding.severity
        row.title, row.description = finding.title[:300], finding.description
        row.path, row.line, row.manifest_hash = finding.path, finding.line, analysis.manifest_hash


async def _finish(db: AsyncSession, analysis_id: uuid.UUID, status: str, error: str | None) -> None:
    await db.execute(
        update(ActionItemAnalysis)
        .where(ActionItemAnalysis.id == analysis_id)
        .values(status=status, error=error, finished_at=utcnow())
    )
