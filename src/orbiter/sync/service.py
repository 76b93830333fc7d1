"""Sync of main into a workspace: prepare (a stored preview), execute (one compare-and-set),
undo (back to the pre-sync snapshot), and the deterministic drift analysis.

Execute writes the merged blobs, the manifest and the snapshots and moves the workspace within
the request's transaction, holding the workspace's row: a failure leaves the workspace as it
was. Only the latest executed sync of a workspace can be undone, once (a second undo is 409:
the state has nothing left to undo).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import ManifestEntry, combined_manifest, dump_manifest
from orbiter.blobs.service import store_blob, store_manifest
from orbiter.core.errors import BadRequest, Conflict, NotFound, ValidationFailed
from orbiter.core.time import utcnow
from orbiter.files.service import record_version, version_snapshot
from orbiter.files.workspaces import lock_workspace
from orbiter.models import Role, Snapshot, SyncPreview, Workspace
from orbiter.runtime.resources import Resources
from orbiter.storage import BlobStore
from orbiter.sync.assist import Asker, configured_provider
from orbiter.sync.base import merge_base
from orbiter.sync.combine import propose_combined
from orbiter.sync.drift_llm import enrich
from orbiter.sync.previews import SyncPlan, entry_json, entry_of, plan_sync
from orbiter.sync.schemas import (
    DriftAnalysis,
    SyncExecute,
    SyncExecuted,
    SyncPreviewRead,
    SyncUndone,
)
from orbiter.workspaces.access import load_workspace
from orbiter.workspaces.current_manifest import compare_and_set
from orbiter.workspaces.drift import compare_manifests
from orbiter.workspaces.drift_reports import main_workspace

SOURCE = "sync"
PREVIEW_TTL = timedelta(minutes=30)


async def _main_of(db: AsyncSession, workspace: Workspace) -> Workspace:
    if workspace.is_main:
        raise BadRequest("This is the project's main workspace; there is nothing to sync into it")
    main = await main_workspace(db, workspace.project_id)
    if main is None:
        raise BadRequest("The project has no main workspace to sync from")
    return main


async def _plan(
    db: AsyncSession, store: BlobStore, workspace: Workspace, main: Workspace
) -> SyncPlan:
    base = await merge_base(db, workspace, main)
    return await plan_sync(
        store,
        base,
        await read_manifest(store, base.snapshot.manifest_hash if base.snapshot else None),
        await read_manifest(store, main.current_manifest_hash),
        await read_manifest(store, workspace.current_manifest_hash),
    )


async def _store_tree(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, entries: dict[str, ManifestEntry]
) -> str:
    """The merged tree as a manifest: its entries come from parsed manifests, so only the tree
    rule is checked again (a merge that puts a file under a file is a 409)."""
    ordered = [entries[path] for path in sorted(entries)]
    try:
        manifest = combined_manifest(ordered)
    except ValidationFailed as exc:
        raise Conflict(
            f"The merge would leave an invalid tree: {exc.message}", details=exc.details
        ) from exc
    raw = dump_manifest(ordered)
    return (await store_manifest(db, store, user_id=user_id, raw=raw, manifest=manifest)).hash


def _preview_read(row: SyncPreview) -> SyncPreviewRead:
    return SyncPreviewRead(
        **row.plan["body"],
        id=row.id,
        workspace_id=row.workspace_id,
        main_workspace_id=row.main_workspace_id,
        base_snapshot_id=row.base_snapshot_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def prepare(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> SyncPreviewRead:
    """The preview; a text conflict gets a `combined` option when the caller's LLM can
    propose one (asked only when there is such a conflict)."""
    store = resources.blobs
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    main = await _main_of(db, workspace)
    plan = await _plan(db, store, workspace, main)
    assistant = None
    if plan.text_conflicts:
        asker = Asker(db, user_id, workspace.project_id, "sync")
        assistant = await configured_provider(resources, asker)
    proposals = await propose_combined(assistant, store, plan)
    for hash_ in sorted(plan.contents):
        await store_blob(db, store, user_id=user_id, data=plan.contents[hash_])
    merged_hash = await _store_tree(db, store, user_id=user_id, entries=plan.merged)
    combined_hash = None
    if proposals.entries:
        combined_hash = await _store_tree(db, store, user_id=user_id, entries=proposals.entries)
    body = {
        "merge_base_rule": plan.base.rule,
        "auto_actions": [a.model_dump() for a in plan.auto_actions],
        "decisions_needed": [d.model_dump() for d in plan.decisions],
        "files_to_update": plan.updated,
        "files_to_add": plan.added,
        "files_to_delete": plan.deleted,
        "files_unchanged": plan.unchanged,
        "summary": plan.summary(),
        "llm": proposals.llm.model_dump(mode="json") if proposals.llm else None,
        "notes": proposals.notes,
    }
    now = utcnow()
    await db.execute(  # expired previews never executed are of no further use
        delete(SyncPreview).where(
            SyncPreview.workspace_id == workspace.id,
            SyncPreview.executed_at.is_(None),
            SyncPreview.expires_at <= now,
        )
    )
    row = SyncPreview(
        workspace_id=workspace.id,
        project_id=workspace.project_id,
        created_by=user_id,
        base_snapshot_id=plan.base.snapshot.id if plan.base.snapshot else None,
        main_workspace_id=main.id,
        base_manifest_hash=plan.base.snapshot.manifest_hash if plan.base.snapshot else None,
        main_manifest_hash=main.current_manifest_hash,
        workspace_manifest_hash=workspace.current_manifest_hash,
        merged_manifest_hash=merged_hash,
        combined_manifest_hash=combined_hash,
        plan={
            "body": body,
            "use_main": plan.main_entries(),
            "combined": {path: entry_json(e) for path, e in proposals.entries.items()},
        },
        created_at=now,
        expires_at=now + PREVIEW_TTL,
    )
    db.add(row)
    await db.flush()
    return _preview_read(row)


def _executed(row: SyncPreview) -> Conflict:
    return Conflict("This preview was already executed", details={"preview_id": str(row.id)})


async def _load_preview(
    db: AsyncSession, workspace: Workspace, preview_id: uuid.UUID
) -> SyncPreview:
    row = await db.get(SyncPreview, preview_id)
    if row is None or row.workspace_id != workspace.id:
        raise NotFound("Sync preview not found", details={"preview_id": str(preview_id)})
    if row.executed_at is not None:
        raise _executed(row)
    if row.expires_at <= utcnow():
        raise Conflict("The preview expired; prepare the sync again", details={"expired": True})
    return row


def _check_decisions(row: SyncPreview, answers: dict[str, str]) -> None:
    needed = set(row.plan["use_main"])
    missing = sorted(needed - answers.keys())
    unknown = sorted(answers.keys() - needed)
    if missing or unknown:
        raise ValidationFailed(
            "Every decision of the preview must be answered, and only those",
            details={"unanswered": missing, "unknown": unknown},
        )
    offered = row.plan.get("combined", {})
    not_offered = sorted(p for p, a in answers.items() if a == "combined" and p not in offered)
    if not_offered:
        raise ValidationFailed(
            "`combined` was not offered for these paths", details={"not_offered": not_offered}
        )


async def _moved(db: AsyncSession, workspace_id: uuid.UUID, **values: object) -> None:
    await db.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def execute(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    body: SyncExecute,
) -> SyncExecuted:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    row = await _load_preview(db, workspace, body.preview_id)
    _check_decisions(row, dict(body.decisions))
    current, version = await lock_workspace(db, workspace.id)
    await db.refresh(row)  # a racing execute of the same preview finished while we waited
    if row.executed_at is not None:
        raise _executed(row)
    if current != row.workspace_manifest_hash:
        raise Conflict(
            "The workspace changed since the preview; prepare the sync again",
            details={
                "conflict": True,
                "preview_manifest_hash": row.workspace_manifest_hash,
                "current_manifest_hash": current,
                "version": version,
            },
        )
    entries = (await read_manifest(store, row.merged_manifest_hash)).by_path()
    for path, option in body.decisions.items():
        chosen = row.plan["use_main"][path]
        if option == "combined":
            entries[path] = entry_of(row.plan["combined"][path])
        elif option == "use_main":
            if chosen is None:
                entries.pop(path, None)
            else:
                entries[path] = entry_of(chosen)
    new_hash = await _store_tree(db, store, user_id=user_id, entries=entries)
    before = await _before_snapshot(
        db, store, user_id, workspace, current, body.create_snapshot_before
    )
    main = await db.get(Workspace, row.main_workspace_id)
    main_snapshot = None
    if main is not None and row.main_manifest_hash is not None:
        main_snapshot = await version_snapshot(
            db,
            store,
            user_id=user_id,
            workspace=main,
            hash_=row.main_manifest_hash,
            message="Main as merged by a sync",
            source=SOURCE,
        )
    moved = await compare_and_set(
        db, workspace_id=workspace.id, manifest_hash=new_hash, previous=current, check_previous=True
    )
    assert moved is not None  # the row is held since lock_workspace
    after = None
    if body.create_snapshot_after:
        after = await record_version(
            db,
            store,
            user_id=user_id,
            workspace=workspace,
            hash_=new_hash,
            parent=None,
            parents=[p for p in (before, main_snapshot) if p is not None],
            message="Sync from main",
            source=SOURCE,
        )
    await _moved(db, workspace.id, last_merged_snapshot_id=main_snapshot)
    row.executed_at = utcnow()
    row.before_snapshot_id = before
    row.previous_last_merged_snapshot_id = workspace.last_merged_snapshot_id
    row.result_manifest_hash = new_hash
    preview = row.plan["body"]
    return SyncExecuted(
        success=True,
        workspace_id=workspace.id,
        snapshot_id=after,
        before_snapshot_id=before,
        manifest_hash=new_hash,
        version=moved,
        files_updated=preview["files_to_update"]
        + _chosen(body, "use_main", row, present=True)
        + _chosen(body, "combined", row, present=True),
        files_added=preview["files_to_add"],
        files_deleted=preview["files_to_delete"] + _chosen(body, "use_main", row, present=False),
    )


def _chosen(body: SyncExecute, option: str, row: SyncPreview, *, present: bool) -> list[str]:
    """The decided paths answered `option` whose main entry is present (or absent)."""
    return sorted(
        path
        for path, answer in body.decisions.items()
        if answer == option and (row.plan["use_main"][path] is not None) == present
    )


async def _before_snapshot(
    db: AsyncSession,
    store: BlobStore,
    user_id: uuid.UUID,
    workspace: Workspace,
    current: str | None,
    fresh: bool,
) -> uuid.UUID:
    """The snapshot undo returns to: the workspace's tree now (an empty one when it has none),
    a new snapshot when `fresh`, else the latest one of that tree (recorded if missing)."""
    hash_ = current or await _store_tree(db, store, user_id=user_id, entries={})
    found = await version_snapshot(
        db,
        store,
        user_id=user_id,
        workspace=workspace,
        hash_=hash_,
        message="The workspace before a sync from main",
        source=SOURCE,
    )
    assert found is not None
    if not fresh:
        return found
    return await record_version(
        db,
        store,
        user_id=user_id,
        workspace=workspace,
        hash_=hash_,
        parent=found,
        message="Before sync from main",
        source=SOURCE,
    )


async def undo(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> SyncUndone:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    current, _ = await lock_workspace(db, workspace.id)
    row = (
        await db.scalars(
            select(SyncPreview)
            .where(SyncPreview.workspace_id == workspace.id, SyncPreview.executed_at.is_not(None))
            .order_by(SyncPreview.executed_at.desc(), SyncPreview.id.desc())
            .limit(1)
        )
    ).first()
    if row is None or row.undone_at is not None or row.before_snapshot_id is None:
        raise Conflict(
            "There is no sync to undo: the latest sync was already undone or none was executed",
            details={"already_undone": row is not None},
        )
    before = await db.get(Snapshot, row.before_snapshot_id)
    if before is None:
        raise Conflict("The pre-sync snapshot no longer exists")
    parent = await version_snapshot(
        db,
        store,
        user_id=user_id,
        workspace=workspace,
        hash_=current,
        message="The workspace before a sync undo",
        source=SOURCE,
    )
    moved = await compare_and_set(
        db,
        workspace_id=workspace.id,
        manifest_hash=before.manifest_hash,
        previous=current,
        check_previous=True,
    )
    assert moved is not None  # the row is held since lock_workspace
    snapshot_id = await record_version(
        db,
        store,
        user_id=user_id,
        workspace=workspace,
        hash_=before.manifest_hash,
        parent=None,
        parents=[p for p in (parent, before.id) if p is not None],
        message="Undo of a sync from main",
        source=SOURCE,
    )
    await _moved(db, workspace.id, last_merged_snapshot_id=row.previous_last_merged_snapshot_id)
    row.undone_at = utcnow()
    return SyncUndone(
        success=True,
        reverted_to_snapshot_id=before.id,
        snapshot_id=snapshot_id,
        manifest_hash=before.manifest_hash,
        version=moved,
    )


def _recommendation(plan: SyncPlan, changes_from_main: int) -> tuple[str, str]:
    if changes_from_main == 0:
        return "none", "Nothing to sync: main has no change this workspace lacks"
    if not plan.decisions:
        return "sync", f"Sync now: all {changes_from_main} changes from main apply automatically"
    return (
        "review_conflicts",
        f"Review the {len(plan.decisions)} conflicting paths before syncing",
    )


async def analyze(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> DriftAnalysis:
    """Deterministic: the risk of API.md's drift rules (this workspace against main), whether
    a sync would need no decision, and a recommendation; then, when the caller has an LLM
    provider, its explanation and recommendation next to them (`llm_enriched`)."""
    store = resources.blobs
    workspace = await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    main = await _main_of(db, workspace)
    plan = await _plan(db, store, workspace, main)
    comparison = compare_manifests(
        await read_manifest(store, workspace.current_manifest_hash),
        await read_manifest(store, main.current_manifest_hash),
    )
    from_main = len(plan.added) + len(plan.updated) + len(plan.deleted) + len(plan.decisions)
    here = sum(1 for a in plan.auto_actions if a.action == "keep_workspace")
    action, text = _recommendation(plan, from_main)
    analysis = DriftAnalysis(
        source_changes_summary=(
            f"Since the merge base ({plan.base.rule}), main added {len(plan.added)}, changed "
            f"{len(plan.updated)} and deleted {len(plan.deleted)} paths; "
            f"{len(plan.decisions)} conflict with this workspace"
        ),
        risk_level=comparison.risk_level,
        can_auto_sync=not plan.decisions,
        recommendation=text,
        recommended_action=action,
        merge_base_rule=plan.base.rule,
        base_snapshot_id=plan.base.snapshot.id if plan.base.snapshot else None,
        changes_from_main=from_main,
        changes_here=here,
        conflicts=[d.path for d in plan.decisions],
        overlap_ratio=comparison.overlap_ratio,
        llm_enriched=False,
    )
    if from_main or here:
        asker = Asker(db, user_id, workspace.project_id, "drift")
        await enrich(await configured_provider(resources, asker), analysis, plan)
    return analysis
