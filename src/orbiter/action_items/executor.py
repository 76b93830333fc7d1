"""The executor of `action_item` runs (registered with the engine at import).

The workspace's current files are laid out in a new sandbox (their manifest becomes the
run's base), the coding agent (`orbiter.coding`) works on the item there, and its changes
are read back (`collect.py`): each new content stored as a blob of the run's user, per path
the base hash and the new one kept for `apply`, a unified diff, the checks (`checks.py`) and
a report. The run ends `ready`, or `failed` with the reason (the agent changed nothing, too
much, or failed). The sandbox is destroyed when the run ends, however it ends.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update

from orbiter.action_items.checks import parse_check, report, test_check
from orbiter.action_items.collect import TooMuchChanged, changed_paths, read_work_dir
from orbiter.action_items.patch import unified_diff
from orbiter.blobs.access import read_manifest
from orbiter.blobs.service import store_blob
from orbiter.coding import SandboxWorkspace, process_host, run_coding_agent
from orbiter.core.db import transaction
from orbiter.core.errors import AppError, NotFound
from orbiter.core.time import utcnow
from orbiter.models import ActionItemRun, Sandbox
from orbiter.runs.engine import RunContext, RunFailure, register_executor
from orbiter.sandbox import HOME, CommandResult
from orbiter.sandboxes.workspace_files import lay_out_workspace
from orbiter.workspaces.access import load_workspace

KIND = "action_item"
TEMPLATE = "action-item"
PROMPT = """Fix this action item in the project checked out in the current directory.

Kind: {kind} (severity {severity})
{title}
{description}
{where}
Make the smallest change that resolves it, keep the code working, and answer with a short
summary of what you changed."""


def prompt_for(item: dict[str, Any]) -> str:
    where = ""
    if item.get("path"):
        where = f"File: {item['path']}" + (f", line {item['line']}" if item.get("line") else "")
    return PROMPT.format(
        where=where, **{k: item.get(k) for k in ("kind", "severity", "title", "description")}
    )


async def _set(ctx: RunContext, row_id: uuid.UUID, **values: Any) -> None:
    async with transaction(ctx.resources.sessionmaker) as db:
        await db.execute(update(ActionItemRun).where(ActionItemRun.id == row_id).values(**values))


async def run_action_item(ctx: RunContext) -> dict[str, Any]:
    async with transaction(ctx.resources.sessionmaker) as db:
        row = await db.get(ActionItemRun, ctx.target_id) if ctx.target_id else None
    if row is None or ctx.user_id is None:
        raise NotFound("The action item run or its user was deleted")
    host = process_host(ctx.settings)
    await host.require_available()
    sandbox_id = uuid.uuid4()
    try:
        return await _work(ctx, row, SandboxWorkspace(host, sandbox_id))
    except (AppError, RunFailure) as exc:
        await _set(ctx, row.id, status="failed", error=exc.message, finished_at=utcnow())
        raise
    except Exception as exc:
        message = f"The run failed ({type(exc).__name__})"
        await _set(ctx, row.id, status="failed", error=message, finished_at=utcnow())
        raise
    finally:
        await host.destroy(sandbox_id)
        async with transaction(ctx.resources.sessionmaker) as db:
            await db.execute(delete(Sandbox).where(Sandbox.id == sandbox_id))


async def _lay_out(ctx: RunContext, row: ActionItemRun, workspace: SandboxWorkspace) -> str | None:
    """A sandbox with the workspace's current files; returns their manifest (the base)."""
    host, user_id = workspace.host, ctx.user_id
    assert user_id is not None
    host.runner.prepare(workspace.work_dir)
    async with transaction(ctx.resources.sessionmaker) as db:
        db.add(
            Sandbox(
                id=workspace.sandbox_id,
                user_id=user_id,
                template=TEMPLATE,
                host=host.name,
                cwd=HOME,
                expires_at=utcnow() + timedelta(seconds=ctx.settings.sandbox_ttl_seconds),
            )
        )
    async with transaction(ctx.resources.sessionmaker) as db:
        # One session: the manifest laid out is the one read here (the same loaded row).
        found = await load_workspace(db, user_id=user_id, workspace_id=row.workspace_id)
        base = found.current_manifest_hash
        await lay_out_workspace(
            db,
            ctx.resources.blobs,
            host.runner,
            user_id=user_id,
            workspace_id=row.workspace_id,
            work_dir=workspace.work_dir,
            quota=ctx.settings.sandbox_disk_bytes,
        )
    await _set(ctx, row.id, status="running", base_manifest_hash=base, error=None)
    return base


async def _work(ctx: RunContext, row: ActionItemRun, workspace: SandboxWorkspace) -> dict[str, Any]:
    base_hash = await _lay_out(ctx, row, workspace)
    base = await read_manifest(ctx.resources.blobs, base_hash)
    max_bytes = ctx.settings.files_max_file_bytes
    try:
        before = await asyncio.to_thread(read_work_dir, workspace.work_dir, max_bytes)
    except TooMuchChanged as exc:
        raise RunFailure(str(exc)) from exc
    result = await run_coding_agent(ctx, workspace, prompt=prompt_for(row.item))
    try:
        after = await asyncio.to_thread(read_work_dir, workspace.work_dir, max_bytes)
        changes = changed_paths(base, before, after)
    except TooMuchChanged as exc:
        raise RunFailure(str(exc)) from exc
    if not changes:
        raise RunFailure(f"The agent changed no file. It said: {result.text[:2000]}")
    stored = await _store(ctx, changes)

    async def run(argv: list[str]) -> CommandResult:
        result: CommandResult = await workspace.run(argv)
        return result

    checks = [c for path, _, data in changes if data is not None and (c := parse_check(path, data))]
    tests = await test_check(sorted(after), run)
    checks += [tests] if tests else []
    await _set(
        ctx,
        row.id,
        status="ready",
        summary=result.text[:10_000],
        report=report(changes, checks),
        patch=unified_diff(changes),
        checks=checks,
        changes=stored,
        finished_at=utcnow(),
    )
    return {"action_item_run_id": str(row.id), "changed": sorted(stored), "checks": len(checks)}


async def _store(
    ctx: RunContext, changes: list[tuple[str, bytes | None, bytes | None]]
) -> dict[str, dict[str, str | None]]:
    """The new contents as blobs of the run's user; per path the base and new hashes."""
    assert ctx.user_id is not None
    stored: dict[str, dict[str, str | None]] = {}
    async with transaction(ctx.resources.sessionmaker) as db:
        for path, before, after in changes:
            base = (
                None
                if before is None
                else await store_blob(db, ctx.resources.blobs, user_id=ctx.user_id, data=before)
            )
            new = (
                None
                if after is None
                else await store_blob(db, ctx.resources.blobs, user_id=ctx.user_id, data=after)
            )
            stored[path] = {
                "base_hash": None if base is None else base.hash,
                "new_hash": None if new is None else new.hash,
            }
    return stored


register_executor(KIND, run_action_item)
