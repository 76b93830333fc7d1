"""Runs on an action item: the coding agent's patch (`executor.py`), read and applied.

Starting a run (editor or owner) needs an LLM provider (503 says how to add one); it records
the item and a queued engine run (kind `action_item`) whose job goes after commit. Applying a
`ready` run writes its changes to the workspace with the files' compare-and-set
(`files.service.commit`, one new version and snapshot), merging with `merge3` where the
workspace changed the same files since the run began; 409 when a change no longer applies
(nothing is written), and 409 for a second apply.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.action_items.patch import FileChange, apply_change
from orbiter.action_items.schemas import ActionItemRunRead, ChangeRead, CheckRead, RunApplied
from orbiter.action_items.service import find_item
from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import blob_key
from orbiter.core.errors import Conflict, NotFound, ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.files.changes import Base, Change
from orbiter.files.edits import Remove
from orbiter.files.service import commit
from orbiter.models import ActionItemRun, Role, Run, Workspace
from orbiter.providers.opening import choose_provider
from orbiter.runs.service import create_run
from orbiter.runtime.resources import Resources
from orbiter.storage import BlobStore
from orbiter.tenancy.access import load_project

KIND = "action_item"
ENGINE_STATUS = {"failed": "failed", "cancelled": "cancelled"}


def run_read(row: ActionItemRun, engine: Run | None) -> ActionItemRunRead:
    status, error = row.status, row.error
    if status in ("queued", "running") and engine is not None:
        status = ENGINE_STATUS.get(
            engine.status, engine.status if engine.status == "running" else status
        )
        if engine.error and status in ENGINE_STATUS.values():
            error = error or str(engine.error.get("message"))
    return ActionItemRunRead(
        id=row.id,
        item_id=row.item_id,
        project_id=row.project_id,
        workspace_id=row.workspace_id,
        run_id=row.run_id,
        status=status,
        item=row.item,
        base_manifest_hash=row.base_manifest_hash,
        summary=row.summary,
        report=row.report,
        patch=row.patch,
        checks=[CheckRead(**check) for check in row.checks],
        changes=[ChangeRead(path=p, **c) for p, c in sorted(row.changes.items())],
        error=error,
        created_at=row.created_at,
        finished_at=row.finished_at,
        applied_at=row.applied_at,
        applied_manifest_hash=row.applied_manifest_hash,
    )


async def _read(db: AsyncSession, row: ActionItemRun) -> ActionItemRunRead:
    engine = await db.get(Run, row.run_id) if row.run_id else None
    return run_read(row, engine)


async def start_run(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, item_id: uuid.UUID
) -> ActionItemRunRead:
    item = await find_item(db, user_id=user_id, item_id=item_id, min_role=Role.EDITOR)
    if item.workspace_id is None:
        raise ValidationFailed.for_field("id", "This item is about no workspace to patch")
    await choose_provider(db, user_id=user_id)  # 503, saying how to add one, when none
    row = ActionItemRun(
        id=uuid.uuid4(),
        item_id=item.id,
        project_id=item.project_id,
        workspace_id=item.workspace_id,
        created_by=user_id,
        status="queued",
        item=item.model_dump(mode="json", exclude={"dismissed", "dismissed_at"}),
        checks=[],
        changes={},
        created_at=utcnow(),
    )
    db.add(row)
    await db.flush()
    run = await create_run(
        db,
        resources,
        user_id=user_id,
        project_id=item.project_id,
        kind=KIND,
        input={"action_item_run_id": str(row.id)},
        target_id=row.id,
    )
    row.run_id = run.id
    await db.flush()
    return run_read(row, run)


async def list_runs(
    db: AsyncSession,
    codec: CursorCodec,
    *,
    user_id: uuid.UUID,
    item_id: uuid.UUID,
    params: PageParams,
) -> tuple[list[ActionItemRunRead], PageInfo]:
    """The item's runs, newest first (404 when the caller cannot see the item)."""
    item = await find_item(db, user_id=user_id, item_id=item_id)
    stmt = (
        select(ActionItemRun, Run)
        .outerjoin(Run, Run.id == ActionItemRun.run_id)
        .where(ActionItemRun.item_id == item.id, ActionItemRun.project_id == item.project_id)
    )
    rows, info = await paginate(
        db,
        stmt,
        order=[ActionItemRun.created_at, ActionItemRun.id],
        params=params,
        codec=codec,
    )
    return [run_read(found[0], found[1]) for found in rows], info


async def load_run(
    db: AsyncSession, *, user_id: uuid.UUID, run_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> ActionItemRun:
    row = await db.get(ActionItemRun, run_id)
    if row is None:
        raise NotFound("Action item run not found")
    try:
        await load_project(db, user_id=user_id, project_id=row.project_id, min_role=min_role)
    except NotFound:
        raise NotFound("Action item run not found") from None
    return row


async def get_run(db: AsyncSession, *, user_id: uuid.UUID, run_id: uuid.UUID) -> ActionItemRunRead:
    return await _read(db, await load_run(db, user_id=user_id, run_id=run_id))


async def _blob(store: BlobStore, hash_: str | None) -> bytes | None:
    if hash_ is None:
        return None
    stream = await store.open_stream(blob_key(hash_))
    return b"".join([chunk async for chunk in stream])


async def _plan(
    store: BlobStore, row: ActionItemRun, current_hash: str | None, change: Change
) -> list[str]:
    """Add the run's changes over the current files to `change`; returns the merged paths.
    409 with the conflicting paths when one no longer applies."""
    entries = (await read_manifest(store, current_hash)).by_path()
    merged, conflicts = [], []
    for path, stored in sorted(row.changes.items()):
        planned = FileChange(path, stored["base_hash"], stored["new_hash"])
        entry = entries.get(path)
        current = entry.hash if entry is not None and entry.type == "file" else None
        if entry is not None and entry.type != "file":
            conflicts.append(path)
            continue
        both = current not in (planned.base_hash, planned.new_hash)
        result = apply_change(
            planned,
            current_hash=current,
            base=await _blob(store, planned.base_hash) if both else None,
            current=await _blob(store, current) if both else None,
            new=await _blob(store, planned.new_hash),
        )
        if result is None:
            conflicts.append(path)
        elif result.delete:
            change.add(Remove(path), f"delete {path}")
        elif not result.unchanged and result.data is not None:
            change.put_data(path, result.data, create=entry is None)
            merged += [path] if both else []
    if conflicts:
        raise Conflict(
            "The workspace changed the same lines since the run began: the patch no longer "
            "applies; start a new run",
            details={"conflicts": conflicts, "current_manifest_hash": current_hash},
        )
    return merged


async def apply_run(
    db: AsyncSession,
    store: BlobStore,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    run_id: uuid.UUID,
) -> RunApplied:
    row = await load_run(db, user_id=user_id, run_id=run_id, min_role=Role.EDITOR)
    if row.status != "ready":
        raise Conflict(
            "This run's patch was applied already"
            if row.status == "applied"
            else f"This run has no patch to apply (it is {(await _read(db, row)).status})",
            details={
                "status": row.status,
                "applied_at": row.applied_at.isoformat() if row.applied_at else None,
            },
        )
    workspace = await db.get(Workspace, row.workspace_id)
    if workspace is None:
        raise NotFound("The run's workspace was deleted")
    current = workspace.current_manifest_hash
    change = Change(max_bytes=settings.files_max_file_bytes)
    merged = await _plan(store, row, current, change)
    if not change.edits:
        raise Conflict("The workspace already has every change of this patch")
    done = await commit(
        db,
        store,
        user_id=user_id,
        workspace_id=workspace.id,
        change=change,
        base=Base(current, True),
    )
    claimed = await db.execute(
        update(ActionItemRun)
        .where(ActionItemRun.id == row.id, ActionItemRun.status == "ready")
        .values(
            status="applied", applied_at=utcnow(), applied_manifest_hash=done.version.manifest_hash
        )
        .returning(ActionItemRun.id)
    )
    if claimed.scalar() is None:  # a racing apply won
        raise Conflict("This run's patch was applied already", details={"status": "applied"})
    await db.refresh(row)
    return RunApplied(
        run=await _read(db, row),
        workspace_id=workspace.id,
        manifest_hash=done.version.manifest_hash,
        version=done.version.version,
        snapshot_id=done.version.snapshot_id,
        merged=merged,
    )
