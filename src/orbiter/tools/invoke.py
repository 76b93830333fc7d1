"""Invoking one tool (`POST /tools/{id}/invoke`), recorded as a one-step run of kind `tool`.

The run is created like any other (`runs.service.create_run`, committed first), but this
request executes it itself (`runs.engine.Engine.execute`, the same claim, span, heartbeat and
outcome as in a worker) instead of sending its job, and answers when it is done: the run and
its one `tool` span are stored finished before the response. Should the request die after
the commit, the run is still `queued`, and the engine's resend tick hands it to a worker.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from orbiter.auth.principal import Principal
from orbiter.core.db import transaction
from orbiter.core.errors import STATUS_CODES, AppError, BadRequest, NotFound
from orbiter.models import Run
from orbiter.models.runs import FINISHED_STATUSES
from orbiter.queue import drop_pending
from orbiter.runs import events as run_events
from orbiter.runs import service as runs
from orbiter.runs.engine import Engine, RunContext, register_executor
from orbiter.runtime.resources import Resources
from orbiter.tenancy.projects import project_or_personal
from orbiter.tools.base import RunnableTool, ToolContext
from orbiter.tools.execute import call_tool
from orbiter.tools.registry import CONVERSATIONAL, builtin
from orbiter.tools.schema_check import validate_input
from orbiter.tools.schemas import ToolInvoke, ToolOutput
from orbiter.tools.service import load_tool, runnable_row, runnable_tool

KIND = "tool"
_ERRORS: dict[str, type[AppError]] = {cls.code: cls for cls in STATUS_CODES.values()}


async def invoke_tool(
    resources: Resources, principal: Principal, *, tool_id: str, body: ToolInvoke
) -> ToolOutput:
    """Validate the input (422 before any run), run the tool as a run, answer its outcome."""
    started = time.perf_counter()
    async with transaction(resources.sessionmaker) as db:
        found = builtin(tool_id)
        if found is not None:
            if found.name in CONVERSATIONAL:
                raise BadRequest(
                    f"{found.name} asks the user of a conversation: it runs only inside an "
                    "agent's run"
                )
            tool: RunnableTool = found
            project_id = await project_or_personal(
                db, user_id=principal.user_id, project_id=body.project_id
            )
            target_id = None
        else:
            row = await load_tool(db, user_id=principal.user_id, tool_id=tool_id)
            tool = runnable_row(resources, row)
            project_id, target_id = row.project_id, row.id
        validate_input(tool.input_schema, body.input)
        run = await runs.create_run(
            db,
            resources,
            user_id=principal.user_id,
            project_id=project_id,
            kind=KIND,
            target_id=target_id,
            input={"tool": tool.id, "input": body.input},
        )
        drop_pending(db)  # executed below, by this request
    await Engine(resources).execute(run.id)
    finished = await _finished(resources, run.id)
    elapsed = round((time.perf_counter() - started) * 1000)
    output = (finished.output or {}).get("output") if finished.status == "succeeded" else None
    error = None if finished.status == "succeeded" else _error_message(finished)
    return ToolOutput(output=output, error=error, run_id=run.id, duration_ms=elapsed)


async def _finished(resources: Resources, run_id: uuid.UUID) -> Run:
    """The run once it has ended (a worker may have claimed it first: wait for its end)."""
    run = await _load(resources, run_id)
    if run.status not in FINISHED_STATUSES:
        async for item in run_events.follow(resources, run_id):
            if item is not None and item.stopping:
                break
        run = await _load(resources, run_id)
    return run


async def _load(resources: Resources, run_id: uuid.UUID) -> Run:
    async with transaction(resources.sessionmaker) as db:
        run = await db.get(Run, run_id)
    if run is None:
        raise NotFound("Run not found")
    return run


def _error_message(run: Run) -> str:
    return str((run.error or {}).get("message") or f"The run {run.status}")


async def run_tool(ctx: RunContext) -> dict[str, Any]:
    """The executor of `tool` runs: one span, the tool's output or its failure."""
    async with transaction(ctx.resources.sessionmaker) as db:
        tool = await runnable_tool(
            db, ctx.resources, tool=str(ctx.input.get("tool")), project_id=ctx.project_id
        )
    if tool is None:
        raise NotFound("The tool was deleted")
    arguments = ctx.input.get("input") or {}
    context = ToolContext(ctx.resources, ctx.user_id, ctx.project_id, ctx.run_id)
    async with ctx.span("tool", tool.name, input=arguments) as span:
        result = await call_tool(tool, context, arguments)
        if result.error is not None:
            raise _ERRORS.get(result.error_code, AppError)(result.error)
        span.output = result.output
    return {"output": result.output}


register_executor(KIND, run_tool)
