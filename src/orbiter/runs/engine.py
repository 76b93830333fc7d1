"""The run engine: executors by kind, and the per-process `Engine` that runs them.

    from orbiter.runs.engine import RunContext, register_executor, AwaitInput

    async def run_agent(ctx: RunContext) -> Any:   # returns the run's output (JSON)
        ...
    register_executor("agent", run_agent)

An execution (one job) claims the queued run (`store.claim`: a job delivered twice, or for a
run that ended, does nothing), runs its executor in a task of its own with the caps of the
settings, writes a heartbeat every `ORBITER_RUN_HEARTBEAT_SECONDS` (which also notices a cancel
requested on another replica, and a run that is no longer ours), and stores the outcome:

| the executor | the run |
|---|---|
| returns a value | `succeeded`, `output` (bounded), event `done` |
| raises `AwaitInput(data)` / `AwaitApproval(data)` | `awaiting_input` / `awaiting_approval`, state kept, event `question` / `approval` |
| raises an `AppError` | `failed`, `error: {code, message}` of the exception, event `error` |
| raises anything else | `failed`, `INTERNAL_ERROR` (traceback logged), event `error` |
| runs past `ORBITER_RUN_MAX_SECONDS` (per execution: waiting for input is not counted) | `failed`, `RUN_LIMIT_EXCEEDED` |
| is cancelled (`POST /runs/{id}/cancel`, any replica, within about a second) | `cancelled`, event `cancelled` |
| is stopped by a worker shutting down | `queued` again (state kept), sent to the queue again |

Open spans are closed (status `error`) whenever a run ends without closing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Row

from orbiter.core.errors import AppError, ServiceUnavailable
from orbiter.core.pubsub import SubscriptionLost
from orbiter.core.time import utcnow
from orbiter.queue import Job
from orbiter.runs import events, store
from orbiter.runs.context import (
    AwaitApproval,
    AwaitInput,
    RunCancelled,
    RunContext,
    RunFailure,
    RunLimitExceeded,
    SpanHandle,
    _Pause,
)
from orbiter.runs.fields import bounded
from orbiter.runtime.resources import Resources

__all__ = [
    "EXECUTE_JOB",
    "AwaitApproval",
    "AwaitInput",
    "Engine",
    "Executor",
    "RunCancelled",
    "RunContext",
    "RunFailure",
    "RunLimitExceeded",
    "SpanHandle",
    "register_executor",
]

logger = logging.getLogger("orbiter.runs")

Executor = Callable[[RunContext], Awaitable[Any]]
EXECUTE_JOB = "runs.execute"
_executors: dict[str, Executor] = {}
Reason = Literal["cancel", "shutdown", "lost"]


def register_executor(kind: str, executor: Executor) -> None:
    """The executor of runs of `kind` (one per kind; registering again replaces it)."""
    _executors[kind] = executor


def executor_for(kind: str) -> Executor | None:
    return _executors.get(kind)


def execute_job(run_id: uuid.UUID) -> Job:
    return Job(EXECUTE_JOB, {"run_id": str(run_id)})


@dataclass
class Outcome:
    status: str  # a run status, or "requeue" / "lost"
    output: Any = None
    error: dict[str, Any] | None = None
    pause: _Pause | None = None


@dataclass
class _Active:
    context: RunContext
    task: asyncio.Task[Any] | None = None
    reason: Reason | None = None

    def stop(self, reason: Reason) -> None:
        if self.reason is None:
            self.reason = reason
        self.context.cancel_requested = self.context.cancel_requested or reason == "cancel"
        if self.task is not None:
            self.task.cancel()


@dataclass
class Engine:
    """Runs the runs of this process: the queue's job handler, cancels, heartbeats."""

    resources: Resources
    _active: dict[uuid.UUID, _Active] = field(default_factory=dict)
    _listener: asyncio.Task[None] | None = None
    _jobs: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self) -> None:
        self.resources.queue.register(EXECUTE_JOB, self.handle)
        self._listener = asyncio.create_task(self._listen_for_cancels(), name="run-cancels")

    async def stop(self, wait_seconds: float | None = None) -> None:
        """Let running runs finish for `wait_seconds`, then hand the rest back to the queue."""
        wait = (
            self.resources.settings.worker_shutdown_seconds
            if wait_seconds is None
            else wait_seconds
        )
        if self._jobs and wait > 0:
            await asyncio.wait(list(self._jobs), timeout=wait)
        for active in list(self._active.values()):
            active.stop("shutdown")
        if self._jobs:
            await asyncio.wait(list(self._jobs), timeout=10)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    def cancel_local(self, run_id: uuid.UUID) -> bool:
        active = self._active.get(run_id)
        if active is None:
            return False
        active.stop("cancel")
        return True

    async def handle(self, payload: dict[str, Any]) -> None:
        """The job handler: execute the run named in the payload, if it is still queued."""
        task = asyncio.current_task()
        if task is not None:
            self._jobs.add(task)
        try:
            await self.execute(uuid.UUID(str(payload["run_id"])))
        finally:
            if task is not None:
                self._jobs.discard(task)

    async def execute(self, run_id: uuid.UUID) -> None:
        async with store.single_statements(self.resources.engine) as conn:
            row = await store.claim(conn, run_id)
        if row is None:
            return
        ctx = self._context(row)
        active = _Active(ctx)
        self._active[run_id] = active
        beating = asyncio.create_task(self._heartbeat(active))
        try:
            outcome = await self._run(active)
        finally:
            beating.cancel()
            self._active.pop(run_id, None)
        await self._store(ctx, outcome)

    def _context(self, row: Row[Any]) -> RunContext:
        state = dict(row.state or {})
        resume = state.pop(events.RESUME_KEY, None)
        state.pop(events.AWAITING_KEY, None)
        settings = self.resources.settings
        return RunContext(
            resources=self.resources,
            run_id=row.id,
            user_id=row.user_id,
            project_id=row.project_id,
            kind=row.kind,
            target_id=row.target_id,
            target_version=row.target_version,
            conversation_id=row.conversation_id,
            input=dict(row.input or {}),
            state=state,
            resume=resume,
            attempts=row.attempts,
            max_steps=settings.run_max_steps,
            tokens_in=row.tokens_in,
            tokens_out=row.tokens_out,
            cost=row.cost if row.attempts > 1 else 0.0,
            deadline=time.monotonic() + settings.run_max_seconds,
        )

    async def _run(self, active: _Active) -> Outcome:
        ctx = active.context
        executor = executor_for(ctx.kind)
        if executor is None:
            return _failed("INTERNAL_ERROR", f"No executor is registered for {ctx.kind} runs")
        active.task = asyncio.ensure_future(executor(ctx))
        try:
            async with asyncio.timeout(ctx.resources.settings.run_max_seconds) as limit:
                output = await active.task
            return Outcome("succeeded", output=output)
        except _Pause as pause:
            return Outcome(pause.status, pause=pause)
        except (asyncio.CancelledError, RunCancelled, TimeoutError) as exc:
            if active.reason is not None:
                return Outcome(
                    {"cancel": "cancelled", "shutdown": "requeue"}.get(active.reason, "lost")
                )
            if isinstance(exc, RunCancelled):
                return Outcome("cancelled")
            if isinstance(exc, TimeoutError) and limit.expired():
                seconds = ctx.resources.settings.run_max_seconds
                return _failed(
                    "RUN_LIMIT_EXCEEDED", f"The run reached its limit of {seconds:g} seconds"
                )
            if isinstance(exc, asyncio.CancelledError):
                raise  # this job itself was cancelled
            return self._unexpected(ctx, exc)
        except RunFailure as exc:
            return _failed(exc.code, exc.message)
        except AppError as exc:
            return _failed(exc.code, exc.message)
        except Exception as exc:
            return self._unexpected(ctx, exc)

    def _unexpected(self, ctx: RunContext, exc: BaseException) -> Outcome:
        logger.error("run %s failed", ctx.run_id, exc_info=exc)
        return _failed("INTERNAL_ERROR", "The run failed unexpectedly")

    async def _store(self, ctx: RunContext, outcome: Outcome) -> None:
        if outcome.status == "lost":
            return
        values = self._final_values(ctx, outcome)
        try:
            async with store.single_statements(self.resources.engine) as conn:
                if ctx._open:
                    await store.close_open_spans(conn, ctx.run_id, _span_error(outcome))
                owned = await store.update_owned(conn, ctx.run_id, ctx.attempts, **values)
        except Exception:
            logger.exception("could not store the outcome of run %s", ctx.run_id)
            return  # the heartbeat stops: the reaper fails it
        if not owned:
            return
        if outcome.status == "requeue":
            await self._requeue(ctx.run_id)
            return
        await events.publish(
            self.resources.pubsub,
            self._event(ctx, outcome, values),
            conversation_id=ctx.conversation_id,
        )

    def _final_values(self, ctx: RunContext, outcome: Outcome) -> dict[str, Any]:
        totals = {"tokens_in": ctx.tokens_in, "tokens_out": ctx.tokens_out, "cost": ctx.cost}
        if outcome.status == "requeue":
            return {"status": "queued", "state": ctx.state, "heartbeat_at": None, **totals}
        if outcome.pause is not None:
            event = ctx.next_event(outcome.pause.event, outcome.pause.data)
            waiting = {"event": event.type, "seq": event.seq, "data": event.data}
            state = {**ctx.state, events.AWAITING_KEY: waiting}
            return {"status": outcome.status, "state": state, "heartbeat_at": None, **totals}
        return {
            "status": outcome.status,
            "state": ctx.state,
            "output": bounded(outcome.output, self.resources.settings.run_max_field_bytes),
            "error": outcome.error,
            "finished_at": utcnow(),
            "heartbeat_at": None,
            **totals,
        }

    def _event(self, ctx: RunContext, outcome: Outcome, values: dict[str, Any]) -> events.RunEvent:
        if outcome.pause is not None:
            waiting = values["state"][events.AWAITING_KEY]
            return events.RunEvent(waiting["event"], ctx.run_id, waiting["seq"], waiting["data"])
        data: dict[str, Any] = {"status": outcome.status}
        if outcome.status == "succeeded":
            data["output"] = values["output"]
        elif outcome.status == "failed":
            data["error"] = outcome.error
        kind = {"succeeded": "done", "cancelled": "cancelled"}.get(outcome.status, "error")
        return ctx.next_event(kind, data)

    async def _requeue(self, run_id: uuid.UUID) -> None:
        try:
            await self.resources.queue.send(execute_job(run_id))
        except Exception:  # the resend tick sends queued runs again
            logger.warning("could not requeue run %s", run_id)

    async def _heartbeat(self, active: _Active) -> None:
        ctx = active.context
        while True:
            await asyncio.sleep(self.resources.settings.run_heartbeat_seconds)
            try:
                async with store.single_statements(self.resources.engine) as conn:
                    cancel = await store.heartbeat(conn, ctx.run_id, ctx.attempts)
            except Exception:
                logger.warning("could not write the heartbeat of run %s", ctx.run_id)
                continue
            if cancel is None:
                active.stop("lost")
                return
            if cancel:
                active.stop("cancel")
                return

    async def _listen_for_cancels(self) -> None:
        """Cancels published by any replica (`POST /runs/{id}/cancel`) reach this process."""
        while True:
            try:
                async with self.resources.pubsub.subscribe(events.CANCEL_CHANNEL) as live:
                    async for message in live:
                        with contextlib.suppress(ValueError):
                            self.cancel_local(uuid.UUID(message))
            except (SubscriptionLost, ServiceUnavailable):
                await asyncio.sleep(1)


def _failed(code: str, message: str) -> Outcome:
    return Outcome("failed", error={"code": code, "message": message})


def _span_error(outcome: Outcome) -> str:
    if outcome.status == "cancelled":
        return "cancelled"
    if outcome.status == "requeue":
        return "interrupted: the worker stopped; the run starts again"
    return (outcome.error or {}).get("message") or "the run ended"
