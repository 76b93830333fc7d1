"""Tasks: create (a queued run of kind `task`), list, read, cancel, delete.

A task's status, error and end come from its run (`runs`), which the engine owns. Deleting
a task deletes its run (trace included) and its sandbox; a running one is stopped first.
Services never commit: the run's job is sent after the commit (`runs.service.create_run`),
and the cancels to signal are returned for the router to publish after it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import NotFound, ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.models import LlmProvider, Run, Sandbox, Task, TaskLog
from orbiter.providers.opening import default_model, no_provider
from orbiter.runs import service as runs
from orbiter.runtime.resources import Resources
from orbiter.sandboxes.host import SandboxHost
from orbiter.tasks.git import check_repo_url
from orbiter.tasks.schemas import (
    RUN_STATUSES_OF,
    STATUS_OF_RUN,
    TaskCreate,
    TaskDetail,
    TaskLogLine,
    TaskRead,
)
from orbiter.tenancy.projects import project_or_personal

KIND = "task"
API_PREFIX = "/api/v1"
MAX_LOGS_SHOWN = 2000
ENDED = ("completed", "failed", "cancelled")


async def create_task(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, body: TaskCreate
) -> TaskDetail:
    """422 for a URL a task may not clone or an unknown agent/model; 503 without a provider."""
    await check_repo_url(body.repoUrl, resources.settings)
    provider, model = await choose(db, user_id, body.selectedAgent, body.selectedModel)
    project_id = await project_or_personal(db, user_id=user_id, project_id=None)
    task_id = uuid.uuid4()
    run = await runs.create_run(
        db,
        resources,
        user_id=user_id,
        project_id=project_id,
        kind=KIND,
        target_id=task_id,
        input={"task_id": str(task_id)},
    )
    task = Task(
        id=task_id,
        user_id=user_id,
        project_id=project_id,
        run_id=run.id,
        prompt=body.prompt,
        repo_url=body.repoUrl,
        selected_agent=body.selectedAgent,
        selected_model=body.selectedModel,
        provider_id=provider.id,
        model=model,
        progress=0,
        pushed=False,
    )
    db.add(task)
    await db.flush()
    return TaskDetail(**_fields(task, run), logs=[])


async def choose(
    db: AsyncSession, user_id: uuid.UUID, agent: str | None, model: str | None
) -> tuple[LlmProvider, str]:
    """The caller's provider named by `agent` (id, name or type; default: their default
    provider) and `model` (one it lists, when it lists any; default: its first)."""
    rows = (
        await db.scalars(
            select(LlmProvider)
            .where(LlmProvider.user_id == user_id)
            .order_by(LlmProvider.is_default.desc(), LlmProvider.created_at, LlmProvider.id)
        )
    ).all()
    if not rows:
        raise no_provider()
    row = rows[0]
    if agent:
        named = [r for r in rows if agent in (str(r.id), r.name, r.type)]
        if not named:
            yours = ", ".join(sorted({r.name for r in rows}))
            raise ValidationFailed.for_field(
                "selectedAgent",
                f"No provider of yours is named {agent!r} (by id, name or type); yours: {yours}",
                "unknown_agent",
            )
        row = named[0]
    if model and row.models and model not in row.models:
        raise ValidationFailed.for_field(
            "selectedModel",
            f"Provider {row.name!r} has no model {model!r}; its models: {', '.join(row.models)}",
            "unknown_model",
        )
    return row, model or default_model(row)


def _owned() -> Select[Task, Run]:
    return select(Task, Run).join(Run, Run.id == Task.run_id)


async def list_tasks(
    db: AsyncSession, *, user_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[TaskRead], PageInfo]:
    stmt = _owned().where(Task.user_id == user_id)
    rows, info = await paginate(
        db, stmt, order=[Task.created_at, Task.id], params=params, codec=codec
    )
    return [TaskRead(**_fields(row[0], row[1])) for row in rows], info


async def load_task(
    db: AsyncSession, *, user_id: uuid.UUID, task_id: uuid.UUID
) -> tuple[Task, Run]:
    """The caller's task and its run; anyone else's is not found."""
    found = (await db.execute(_owned().where(Task.id == task_id, Task.user_id == user_id))).first()
    if found is None:
        raise NotFound("Task not found")
    return found[0], found[1]


async def get_task(db: AsyncSession, *, user_id: uuid.UUID, task_id: uuid.UUID) -> TaskDetail:
    task, run = await load_task(db, user_id=user_id, task_id=task_id)
    lines = (
        await db.scalars(
            select(TaskLog)
            .where(TaskLog.task_id == task.id)
            .order_by(TaskLog.seq)
            .limit(MAX_LOGS_SHOWN)
        )
    ).all()
    return TaskDetail(
        **_fields(task, run),
        logs=[TaskLogLine.model_validate(line, from_attributes=True) for line in lines],
    )


async def cancel_task(
    db: AsyncSession, *, user_id: uuid.UUID, task_id: uuid.UUID
) -> tuple[uuid.UUID, runs.Cancelled]:
    """Stop the task (its run): at once when it waits in the queue, within about a second
    when it runs (the sandbox's command is killed). 409 when it already ended otherwise."""
    task, run = await load_task(db, user_id=user_id, task_id=task_id)
    cancelled = await runs.cancel_run(db, user_id=user_id, run_id=run.id)
    return task.id, cancelled


async def delete_task(
    db: AsyncSession, host: SandboxHost, *, user_id: uuid.UUID, task_id: uuid.UUID
) -> list[uuid.UUID]:
    """Delete the task, its run and its sandbox; the runs still running, to stop."""
    task, run = await load_task(db, user_id=user_id, task_id=task_id)
    return await _delete(db, host, user_id, [(task, run)])


async def delete_tasks(
    db: AsyncSession, host: SandboxHost, *, user_id: uuid.UUID, statuses: list[str]
) -> tuple[int, list[uuid.UUID]]:
    """Delete the caller's tasks in `statuses` (ended ones only: completed, failed, cancelled)."""
    for status in statuses:
        if status not in ENDED:
            raise ValidationFailed.for_field(
                "action",
                f"{status!r} is not a status of ended tasks; use {', '.join(ENDED)}",
                "invalid_status",
            )
    run_statuses = [s for status in statuses for s in RUN_STATUSES_OF[status]]
    found = (
        await db.execute(_owned().where(Task.user_id == user_id, Run.status.in_(run_statuses)))
    ).all()
    stopping = await _delete(db, host, user_id, [(task, run) for task, run in found])
    return len(found), stopping


async def _delete(
    db: AsyncSession, host: SandboxHost, user_id: uuid.UUID, found: list[tuple[Task, Run]]
) -> list[uuid.UUID]:
    if not found:
        return []
    run_ids = [run.id for _, run in found]
    stopping = [run.id for _, run in found if run.status == "running"]
    sandbox_ids = [task.sandbox_id for task, _ in found if task.sandbox_id is not None]
    sandboxes = (
        (
            await db.execute(
                delete(Sandbox)
                .where(Sandbox.user_id == user_id, Sandbox.id.in_(sandbox_ids))
                .returning(Sandbox.id, Sandbox.host)
                .execution_options(synchronize_session=False)
            )
        ).all()
        if sandbox_ids
        else []
    )
    await db.execute(
        delete(Run).where(Run.id.in_(run_ids)).execution_options(synchronize_session=False)
    )
    await db.flush()
    for sandbox_id, holder in sandboxes:
        await host.destroy_on(holder, sandbox_id)
    return stopping


def _fields(task: Task, run: Run) -> dict[str, Any]:
    ended = run.finished_at if run.status in ("succeeded", "failed", "cancelled") else None
    return {
        "id": task.id,
        "prompt": task.prompt,
        "repo_url": task.repo_url,
        "selected_agent": task.selected_agent,
        "selected_model": task.selected_model,
        "provider_id": task.provider_id,
        "model": task.model,
        "status": STATUS_OF_RUN.get(run.status, "processing"),
        "progress": task.progress,
        "error": (run.error or {}).get("message") if run.status == "failed" else None,
        "branch_name": task.branch_name,
        "commit_sha": task.commit_sha,
        "pushed": task.pushed,
        "sandbox_url": f"{API_PREFIX}/sandbox/{task.sandbox_id}" if task.sandbox_id else None,
        "run_id": task.run_id,
        "created_at": task.created_at,
        "updated_at": max(task.updated_at, run.updated_at),
        "completed_at": ended,
    }
