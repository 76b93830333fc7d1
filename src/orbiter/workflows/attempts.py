"""One node of a run, attempt by attempt: each attempt a `node` span; `timeout_ms` per
attempt; `retry_count` more attempts after `retry_delay_ms`, doubling; then `on_error`:
`fail` ends the run, `skip` gives the node a null output and the flow goes on, `fallback` gives
it `fallback_value` (rendered like its settings)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from orbiter.core.errors import AppError
from orbiter.runs.engine import RunCancelled, RunContext, RunFailure, RunLimitExceeded, SpanHandle
from orbiter.workflows.config import node_settings, rendered_config
from orbiter.workflows.graph import Node
from orbiter.workflows.nodes.base import NodeCall, NodeError, Routed
from orbiter.workflows.templates import render

WAITING = object()  # an approval gate asked; the run pauses when nothing else can run
MAX_DELAY_SECONDS = 600.0
Custom = Callable[[NodeCall], Awaitable[Any]]


class NodeFailed(RunFailure):
    """A node failed with `on_error: fail`: the run fails with this code."""

    code = "NODE_FAILED"


async def run_node(
    ctx: RunContext, node: Node, value: Any, variables: dict[str, Any], custom: Custom | None
) -> Any:
    settings = node_settings(node.data)
    last: BaseException | None = None
    attempts = settings.retry_count + 1
    for attempt in range(1, attempts + 1):
        try:
            return await _attempt(ctx, node, value, variables, custom, attempt, settings.timeout_ms)
        except (RunCancelled, RunLimitExceeded, asyncio.CancelledError):
            raise
        except Exception as exc:
            last = exc
        if attempt < attempts:
            delay = settings.retry_delay_ms / 1000 * 2 ** (attempt - 1)
            await asyncio.sleep(min(delay, MAX_DELAY_SECONDS))
    reason = _reason(last)
    if settings.on_error == "skip":
        return None
    if settings.on_error == "fallback":
        return render((settings.model_extra or {}).get("fallback_value"), variables)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    raise NodeFailed(f'Node "{node.id}" ({node.type.name}) failed{tries}: {reason}')


async def _attempt(
    ctx: RunContext,
    node: Node,
    value: Any,
    variables: dict[str, Any],
    custom: Custom | None,
    attempt: int,
    timeout_ms: int | None,
) -> Any:
    name = f"{node.id} ({node.type.name})" + (f" attempt {attempt}" if attempt > 1 else "")
    # Each event goes to Redis while its span is written to the database, not after it.
    started = asyncio.ensure_future(ctx.emit("step_started", _event(node, attempt)))
    finished: asyncio.Future[None] | None = None
    try:
        async with ctx.span("node", name, input=value) as span:
            await started
            outcome = await _call(ctx, node, value, variables, custom, span, attempt, timeout_ms)
            span.output = _shown(outcome)
            done = {**_event(node, attempt), "output": span.output}
            finished = asyncio.ensure_future(ctx.emit("step_finished", done))
        await finished
    finally:
        for task in (started, finished):
            if task is not None and not task.done():
                task.cancel()
    return outcome


async def _call(
    ctx: RunContext,
    node: Node,
    value: Any,
    variables: dict[str, Any],
    custom: Custom | None,
    span: SpanHandle,
    attempt: int,
    timeout_ms: int | None,
) -> Any:
    config = rendered_config(node.type, node.data, variables)
    call = NodeCall(ctx, node.id, node.type.name, config, value, variables, span, attempt)
    runner = custom or node.type.run
    try:
        async with asyncio.timeout(timeout_ms / 1000 if timeout_ms else None):
            return await runner(call)
    except TimeoutError as exc:
        raise NodeError(f"timed out after {timeout_ms} ms", "NODE_TIMEOUT") from exc


def _event(node: Node, attempt: int) -> dict[str, Any]:
    return {
        "node_id": node.id,
        "node_type": node.type.name,
        "label": node.data.get("label"),
        "attempt": attempt,
    }


def _shown(outcome: Any) -> Any:
    if outcome is WAITING:
        return {"awaiting_approval": True}
    if isinstance(outcome, Routed):
        return {"output": outcome.output, "handles": sorted(outcome.handles)}
    return outcome


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, NodeError | AppError):
        return exc.message
    return str(exc) or type(exc).__name__
