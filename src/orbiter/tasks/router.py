"""/api/v1/tasks: the caller's coding-agent tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query
from fastapi.responses import StreamingResponse

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.coding import process_host
from orbiter.core.pagination import Page
from orbiter.core.pubsub import PubSub
from orbiter.core.sse import SSE_HEADERS, SSE_MEDIA_TYPE
from orbiter.runs import events
from orbiter.runs import service as runs
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep
from orbiter.tasks import service, stream
from orbiter.tasks.schemas import TaskCreate, TaskDetail, TaskMessage, TaskRead, TasksDeleted

router = APIRouter(prefix="/tasks", tags=["tasks"])

LOGS_RESPONSE: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Server-Sent Events: `log` (`{seq, type, message, created_at}`, `id` is "
        "`seq`) for each line from the start (or after `Last-Event-ID`), then `end` "
        "(`{status}`) when the task has ended",
        "content": {SSE_MEDIA_TYPE: {}},
    }
}


async def _stop(pubsub: PubSub, run_ids: list[uuid.UUID]) -> None:
    for run_id in run_ids:
        await pubsub.publish(events.CANCEL_CHANNEL, str(run_id))


@router.post("", status_code=201, response_model=TaskDetail, summary="Start a task")
async def create_task(
    body: TaskCreate, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> TaskDetail:
    """Queue a coding task: clone `repoUrl`, let the coding agent (the run engine's agent with
    tools to list, read, write and search files and run commands in a sandbox) do what
    `prompt` says, commit to a new branch `orbiter/<slug>-<short id>`, push it when you stored
    a `github` credential for the repository's host. 422 for a URL that is not https to a
    public host (`file://`, `ssh://`, private addresses) and for an unknown
    `selectedAgent`/`selectedModel`; 503 when you have no LLM provider (says how to add one)."""
    return await service.create_task(db, resources, user_id=principal.user_id, body=body)


@router.get("", response_model=Page[TaskRead], summary="List tasks")
async def list_tasks(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, page: PageParamsDep
) -> Page[TaskRead]:
    data, info = await service.list_tasks(
        db, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.delete("", response_model=TasksDeleted, summary="Delete ended tasks by status")
async def delete_ended_tasks(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    action: Annotated[
        str, Query(min_length=1, description="Statuses to delete, e.g. `completed,failed`")
    ],
) -> TasksDeleted:
    """Delete your tasks that ended with one of the statuses (`completed`, `failed`,
    `cancelled`), with their runs and sandboxes."""
    statuses = [s.strip() for s in action.split(",") if s.strip()]
    count, _ = await service.delete_tasks(
        db, process_host(resources.settings), user_id=principal.user_id, statuses=statuses
    )
    return TasksDeleted(message=f"Deleted {count} tasks", deletedCount=count)


@router.get("/{task_id}", response_model=TaskDetail, summary="Get a task")
async def get_task(task_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> TaskDetail:
    """The task with its `logs`, `progress`, `status` (pending, processing, completed, failed,
    cancelled), `branch_name` and `sandbox_url`."""
    return await service.get_task(db, user_id=principal.user_id, task_id=task_id)


@router.delete("/{task_id}", response_model=TaskMessage, summary="Delete a task")
async def delete_task(
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> TaskMessage:
    """Delete the task with its run, logs and sandbox (a running one is stopped)."""
    stopping = await service.delete_task(
        db, process_host(resources.settings), user_id=principal.user_id, task_id=task_id
    )
    background.add_task(_stop, resources.pubsub, stopping)  # after the commit
    return TaskMessage(message="Task deleted")


@router.post("/{task_id}/cancel", response_model=TaskDetail, summary="Cancel a task")
async def cancel_task(
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> TaskDetail:
    """A pending task is cancelled at once; a running one within a few seconds (its sandbox
    command is killed, the agent stops). 409 when it already ended otherwise."""
    _, cancelled = await service.cancel_task(db, user_id=principal.user_id, task_id=task_id)
    background.add_task(runs.after_cancel, resources.pubsub, cancelled)  # after the commit
    return await service.get_task(db, user_id=principal.user_id, task_id=task_id)


@router.get(
    "/{task_id}/logs",
    response_class=StreamingResponse,
    responses=LOGS_RESPONSE,
    summary="Follow a task's logs",
)
async def task_logs(
    task_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this line (its `seq`)"),
    ] = None,
) -> StreamingResponse:
    after = stream.after_seq(last_event_id)
    task, run = await service.load_task(db, user_id=principal.user_id, task_id=task_id)
    frames = stream.log_events(resources, task.id, run.id, after)
    return StreamingResponse(frames, media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)
