"""Sandboxes: start one for a fragment and run its code, list, delete, and the terminal.

A command never runs inside the request's write transaction: rows are written after it
returns (SQLite would otherwise hold its write lock for as long as the code runs).
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
import uuid
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.chat.schemas import Fragment
from orbiter.core.errors import Conflict, NotFound, ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.time import utcnow
from orbiter.models import Sandbox
from orbiter.sandbox import (
    HOME,
    LIMIT_MESSAGES,
    SCRIPTS,
    Command,
    CommandResult,
    Limits,
    limits_from,
    plan_limit,
)
from orbiter.sandboxes.host import SandboxHost
from orbiter.sandboxes.schemas import SandboxExecution, SandboxFile, TerminalResult
from orbiter.sandboxes.templates import Template, require_template
from orbiter.sandboxes.web import start_server, web_url
from orbiter.sandboxes.workspace_files import lay_out_workspace, make_parents
from orbiter.storage import BlobStore

MAX_LISTED_FILES = 1000


async def create_sandbox(
    db: AsyncSession,
    host: SandboxHost,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    fragment: Fragment,
    workspace_id: uuid.UUID | None = None,
    plan: str = "free",
    base_url: str = "",
) -> SandboxExecution:
    """Start a sandbox with `plan`'s limits; for a web template, its server (its URL is
    `base_url` + /sandbox/{id}/web/, base_url being the API's, e.g. https://host/api/v1)."""
    settings = host.settings
    limits = limits_from(settings, plan)
    template = require_template(fragment.template, settings, host.runner)
    deps = fragment.additional_dependencies
    if deps and not settings.sandbox_network:
        raise ValidationFailed.for_field(
            "fragment.additional_dependencies",
            "Sandboxes have no network here, so dependencies cannot be installed "
            "(the operator allows it with ORBITER_SANDBOX_NETWORK=true)",
            "network_disabled",
        )
    if deps and template.install is None:
        raise ValidationFailed.for_field(
            "fragment.additional_dependencies", f"{template.name} cannot install dependencies"
        )
    file_path = _relative_path(fragment.file_path) if fragment.file_path else None
    if template.kind == "web":
        file_path = file_path or PurePosixPath(template.default_file)
    await _require_room(db, host, user_id)
    await host.require_available()
    sandbox_id = uuid.uuid4()
    work_dir = host.work_dir(sandbox_id)
    host.runner.prepare(work_dir)
    try:
        if workspace_id is not None:
            await lay_out_workspace(
                db,
                store,
                host.runner,
                user_id=user_id,
                workspace_id=workspace_id,
                work_dir=work_dir,
                quota=limits.disk_bytes,
            )
        if file_path is not None:
            _write_file(host, work_dir, file_path, fragment.code)
        result = await _install(host, sandbox_id, template, deps, limits)
        if (result is None or result.exit_code == 0) and template.kind == "web":
            assert file_path is not None
            port = fragment.port or template.default_port or 0
            result = await start_server(
                host, sandbox_id, template, port=port, file_path=file_path, limits=limits
            )
        elif result is None or result.exit_code == 0:
            command = Command(template.argv(settings), stdin=fragment.code.encode())
            result = await host.run(sandbox_id, command, limits)
        db.add(
            Sandbox(
                id=sandbox_id,
                user_id=user_id,
                template=template.name,
                host=host.name,
                cwd=HOME,
                expires_at=utcnow() + timedelta(seconds=plan_limit(settings, plan, "ttl_seconds")),
            )
        )
        await db.flush()
    except BaseException:
        await host.destroy(sandbox_id)
        raise
    execution = _execution(sandbox_id, template, result, work_dir)
    if template.kind == "web" and execution.runtimeError is None:
        execution.url = web_url(base_url, sandbox_id)
    return execution


async def list_sandboxes(
    db: AsyncSession, *, user_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[Sandbox], PageInfo]:
    stmt = select(Sandbox).where(Sandbox.user_id == user_id, Sandbox.expires_at > utcnow())
    rows, info = await paginate(
        db, stmt, order=[Sandbox.created_at, Sandbox.id], params=params, codec=codec
    )
    return [row[0] for row in rows], info


async def get_sandbox(db: AsyncSession, *, user_id: uuid.UUID, sandbox_id: uuid.UUID) -> Sandbox:
    """The caller's live sandbox; anyone else's, or an expired one, is not found."""
    sandbox = await db.scalar(
        select(Sandbox).where(
            Sandbox.id == sandbox_id, Sandbox.user_id == user_id, Sandbox.expires_at > utcnow()
        )
    )
    if sandbox is None:
        raise NotFound("Sandbox not found")
    return sandbox


async def delete_sandbox(
    db: AsyncSession, host: SandboxHost, *, user_id: uuid.UUID, sandbox_id: uuid.UUID
) -> None:
    sandbox = await get_sandbox(db, user_id=user_id, sandbox_id=sandbox_id)
    await db.delete(sandbox)
    await db.flush()
    await host.destroy_on(sandbox.host, sandbox_id)


async def run_terminal(
    db: AsyncSession,
    host: SandboxHost,
    *,
    user_id: uuid.UUID,
    sandbox_id: uuid.UUID,
    command: str,
    working_directory: str | None,
    plan: str = "free",
) -> TerminalResult:
    """Run `command` with bash where the previous one ended (or in `working_directory`);
    where it ends (after any `cd`) is where the next one starts."""
    sandbox = await get_sandbox(db, user_id=user_id, sandbox_id=sandbox_id)
    start = posixpath.join(HOME, working_directory) if working_directory else sandbox.cwd
    script = [host.settings.sandbox_bash, f"{SCRIPTS}/terminal.sh", start, command]
    limits = limits_from(host.settings, plan)
    result = await host.run_on(sandbox.host, sandbox_id, Command(script), limits)
    ended = result.side.strip()
    cwd = ended if ended.startswith("/") and len(ended) <= 4096 else start
    sandbox.cwd = cwd
    await db.flush()
    return TerminalResult(
        stdout=result.stdout,
        stderr=result.stderr,
        exitCode=result.exit_code,
        workingDirectory=cwd,
        limit=result.limit,
    )


async def _require_room(db: AsyncSession, host: SandboxHost, user_id: uuid.UUID) -> None:
    live = await db.scalar(
        select(func.count())
        .select_from(Sandbox)
        .where(Sandbox.user_id == user_id, Sandbox.expires_at > utcnow())
    )
    if (live or 0) >= host.settings.sandbox_max_per_user:
        raise Conflict(
            f"You have {live} live sandboxes, the most allowed; delete one first",
            details={"live": live, "max": host.settings.sandbox_max_per_user},
        )


def _relative_path(text: str) -> PurePosixPath:
    path = PurePosixPath(text.removeprefix(HOME + "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or "\x00" in text:
        raise ValidationFailed.for_field(
            "fragment.file_path", "must be a relative path inside the sandbox's home directory"
        )
    return path


def _write_file(host: SandboxHost, work_dir: Path, path: PurePosixPath, text: str) -> None:
    """The fragment's code, saved where it says (never through a link)."""
    target = work_dir.joinpath(*path.parts)
    make_parents(host.runner, work_dir, target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    with os.fdopen(os.open(target, flags, 0o644), "w") as file:
        file.write(text)
    host.runner.hand_over(target)


async def _install(
    host: SandboxHost, sandbox_id: uuid.UUID, template: Template, deps: list[str], limits: Limits
) -> CommandResult | None:
    if not deps or template.install is None:
        return None
    return await host.run(sandbox_id, Command(template.install(host.settings, deps)), limits)


def _execution(
    sandbox_id: uuid.UUID, template: Template, result: CommandResult, work_dir: Path
) -> SandboxExecution:
    report = _side_report(result.side)
    return SandboxExecution(
        sbxId=sandbox_id,
        template=template.name,
        stdout=result.stdout,
        stderr=result.stderr,
        runtimeError=_runtime_error(result, report),
        cellResults=[r for r in report.get("results", []) if isinstance(r, dict)],
        files=_files(work_dir),
        exitCode=result.exit_code,
        limit=result.limit,
    )


def _side_report(side: str) -> dict[str, Any]:
    try:
        report = json.loads(side) if side else {}
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


def _runtime_error(result: CommandResult, report: dict[str, Any]) -> dict[str, str] | None:
    error = report.get("error")
    if isinstance(error, dict):
        return {key: str(error.get(key, "")) for key in ("name", "value", "traceback")}
    if result.limit is not None:
        return {"name": "LimitExceeded", "value": LIMIT_MESSAGES[result.limit], "traceback": ""}
    if result.exit_code != 0:
        return {
            "name": "NonZeroExit",
            "value": f"exited with status {result.exit_code}",
            "traceback": result.stderr[-4000:],
        }
    return None


def _files(work_dir: Path) -> list[SandboxFile]:
    """Regular files only; links are not followed (one could point anywhere on the host)."""
    files: list[SandboxFile] = []
    for directory, dirs, names in os.walk(work_dir):
        dirs.sort()
        for name in sorted(names):
            path = Path(directory, name)
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and len(files) < MAX_LISTED_FILES:
                files.append(SandboxFile(path=str(path.relative_to(work_dir)), size=info.st_size))
    return files
