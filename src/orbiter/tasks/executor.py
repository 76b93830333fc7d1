"""The executor of `task` runs (registered with the engine at import): clone, let the
coding agent work in a sandbox, commit to `orbiter/<slug>-<short id>`, push when a token for
the repository's host is stored, with progress and log lines along the way.

A repository that cannot be cloned (or pushed to) fails the run with git's own message. The
sandbox (a row of the user's sandboxes, `template` "coding-task") keeps the files until it
expires, so the user can look at them with `/terminal`; the host's private copy of the
repository is deleted when the run ends, however it ends.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from orbiter.coding import SandboxWorkspace, new_sandbox, run_coding_agent
from orbiter.core.db import transaction
from orbiter.core.errors import AppError, NotFound
from orbiter.models import Task, User
from orbiter.runs.engine import RunContext, RunFailure, register_executor
from orbiter.tasks.credentials import push_token
from orbiter.tasks.git import Git, GitFailed, remote
from orbiter.tasks.logbook import Logbook
from orbiter.tasks.repository import Repository

KIND = "task"
TEMPLATE = "coding-task"
SLUG_CHARS = 40


def branch_for(task_id: uuid.UUID, prompt: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:SLUG_CHARS].strip("-")
    return f"orbiter/{slug or 'task'}-{task_id.hex[:8]}"


async def run_task(ctx: RunContext) -> dict[str, Any]:
    async with transaction(ctx.resources.sessionmaker) as db:
        task = await db.get(Task, ctx.target_id) if ctx.target_id else None
        user = await db.get(User, ctx.user_id) if ctx.user_id else None
        if task is None or user is None:
            raise NotFound("The task or its user was deleted")
        token, token_host = await push_token(
            db, ctx.resources.secrets, user_id=user.id, url=task.repo_url
        )
    log = Logbook(ctx.resources, task.id)
    settings = ctx.settings
    git = Git(settings.data_dir / "tasks", settings.task_git_seconds)
    try:
        target = await remote(task.repo_url, settings)
    except GitFailed as exc:
        raise await _failed(log, f"Refused to clone {task.repo_url}: {exc.message}") from exc
    private = settings.data_dir / "tasks" / str(task.id)
    repo = Repository(git, target, private, token, settings.sandbox_disk_bytes)
    try:
        return await _work(ctx, task, user, repo, log, token_host)
    finally:
        repo.remove()


async def _work(
    ctx: RunContext, task: Task, user: User, repo: Repository, log: Logbook, token_host: str | None
) -> dict[str, Any]:
    workspace = await _sandbox(ctx, task, log)
    await log.line("info", f"Cloning {task.repo_url}")
    await log.update(progress=10)
    try:
        base = await repo.clone()
        await repo.lay_out(workspace)
    except GitFailed as exc:
        raise await _failed(log, f"Could not clone {task.repo_url}: {exc.message}") from exc
    await log.line("success", "Cloned the repository into the sandbox")
    await log.update(progress=25)

    async def announce(name: str, arguments: dict[str, Any]) -> None:
        shown = arguments.get("command") or arguments.get("path") or arguments.get("pattern")
        await log.line("command", f"{name}: {shown if shown else json.dumps(arguments)}")

    await log.line("info", f"Running the coding agent ({task.model})")
    try:
        result = await run_coding_agent(
            ctx,
            workspace,
            prompt=task.prompt,
            provider_id=task.provider_id,
            model=task.model,
            on_tool=announce,
        )
    except (AppError, RunFailure) as exc:
        await log.line("error", f"The agent stopped: {exc.message}")
        raise
    await log.line("info", f"The agent finished in {result.steps} steps: {result.text}")
    await log.update(progress=80)
    branch = branch_for(task.id, task.prompt)
    try:
        sha = await repo.commit(
            workspace,
            branch=branch,
            base=base,
            author=(user.name or user.email, user.email),
            message=_message(task.prompt),
        )
    except GitFailed as exc:
        raise await _failed(log, exc.message) from exc
    if sha is None:
        await log.line("info", "The agent changed no files: nothing to commit")
        await log.update(progress=100)
        return {"branch": None, "commit": None, "pushed": False}
    await log.line("success", f"Committed {sha[:12]} to branch {branch}")
    await log.update(progress=90, branch_name=branch, commit_sha=sha)
    pushed = await _push(repo, branch, log, token_host)
    await log.update(progress=100, pushed=pushed)
    await log.line("success", "Task completed")
    return {"branch": branch, "commit": sha, "pushed": pushed}


async def _push(repo: Repository, branch: str, log: Logbook, token_host: str | None) -> bool:
    if repo.token is None:
        await log.line(
            "info",
            f"No credential for {repo.remote.host}: the branch was not pushed (it is in the "
            "task's sandbox until it expires)",
        )
        return False
    await log.line("info", f"Pushing {branch} to {token_host}")
    try:
        await repo.push(branch)
    except GitFailed as exc:
        raise await _failed(log, f"Could not push {branch}: {exc.message}") from exc
    await log.line("success", f"Pushed {branch}")
    return True


async def _sandbox(ctx: RunContext, task: Task, log: Logbook) -> SandboxWorkspace:
    """A new sandbox for this execution (one left by an interrupted execution stays until it
    expires)."""
    workspace = await new_sandbox(
        ctx.resources, user_id=task.user_id, template=TEMPLATE, lifetime_seconds=_lifetime(ctx)
    )
    await log.update(sandbox_id=workspace.sandbox_id, progress=5)
    return workspace


async def _failed(log: Logbook, message: str) -> RunFailure:
    await log.line("error", message)
    return RunFailure(message)


def _lifetime(ctx: RunContext) -> float:
    """The sandbox's: at least the run's own limit, so the reaper never takes it mid-task."""
    settings = ctx.settings
    return float(max(settings.sandbox_ttl_seconds, settings.run_max_seconds + 60))


def _message(prompt: str) -> str:
    first = prompt.strip().splitlines()[0] if prompt.strip() else "Changes"
    title = first if len(first) <= 72 else first[:71] + "…"
    return f"{title}\n\nMade by an Orbiter coding task.\n\n{prompt.strip()}"


register_executor(KIND, run_task)
