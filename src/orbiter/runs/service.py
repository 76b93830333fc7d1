"""Runs: create (idempotent), resume, list, read with the trace, cancel.

Services never commit: `create_run` and `resume_run` queue the run's job with
`orbiter.queue.after_commit`, so a worker never sees a run before its row is committed.
Runs belong to a project: members see them, editors start and cancel them, and anyone else
gets 404 (tenancy.access).

Idempotency: `create_run` with an `idempotency_key` (the `Idempotency-Key` header of a
run-starting POST) returns the run the same user started with that key in the last 24 hours
instead of starting another, whatever the rest of the request says; after 24 hours the key
starts a new run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import Conflict, NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.pubsub import PubSub
from orbiter.core.time import utcnow
from orbiter.models import Role, Run, Span
from orbiter.models.runs import FINISHED_STATUSES, WAITING_STATUSES
from orbiter.queue import after_commit
from orbiter.runs import events
from orbiter.runs.engine import execute_job
from orbiter.runs.schemas import RunDetail, RunFilters, RunRead, SpanRead
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project, load_project_row, member_project_ids

IDEMPOTENCY_WINDOW = timedelta(hours=24)


async def create_run(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    kind: str,
    input: dict[str, Any],
    target_id: uuid.UUID | None = None,
    target_version: str | None = None,
    conversation_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
) -> Run:
    """A queued run (the caller must be an editor of the project); its job is sent after the
    transaction commits. The same `idempotency_key` from the same user within 24 h returns
    the first run instead."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    if idempotency_key is not None:
        earlier = await _keyed(db, user_id, idempotency_key)
        if earlier is not None:
            if earlier.created_at >= utcnow() - IDEMPOTENCY_WINDOW:
                return earlier
            earlier.idempotency_key = None  # expired: the key is free again
            await db.flush()
    run = Run(
        id=uuid.uuid4(),
        project_id=project_id,
        user_id=user_id,
        kind=kind,
        target_id=target_id,
        target_version=target_version,
        conversation_id=conversation_id,
        status="queued",
        input=input,
        state={},
        idempotency_key=idempotency_key,
        attempts=0,
        cancel_requested=False,
        tokens_in=0,
        tokens_out=0,
    )
    try:
        async with db.begin_nested():
            db.add(run)
            await db.flush()
    except IntegrityError:
        if idempotency_key is None:
            raise
        winner = await _keyed(db, user_id, idempotency_key)  # a concurrent request made it
        if winner is None:
            raise
        return winner
    after_commit(db, execute_job(run.id))
    return run


async def _keyed(db: AsyncSession, user_id: uuid.UUID, key: str) -> Run | None:
    return await db.scalar(select(Run).where(Run.user_id == user_id, Run.idempotency_key == key))


async def resume_run(
    db: AsyncSession, resources: Resources, *, run_id: uuid.UUID, payload: Any
) -> Run:
    """Bring back a run waiting for input or approval with the answer (`ctx.resume`); the
    caller checked access. 409 when the run is not waiting (any more)."""
    run = await db.get(Run, run_id)
    if run is None:
        raise NotFound("Run not found")
    if run.status not in WAITING_STATUSES:
        raise Conflict(
            f"The run is {run.status}, not waiting for input or approval",
            details={"status": run.status},
        )
    state = {**(run.state or {}), events.RESUME_KEY: payload}
    result = await db.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == run.status)
        .values(status="queued", state=state, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise Conflict("The run was resumed or cancelled meanwhile")
    after_commit(db, execute_job(run_id))
    await db.refresh(run)
    return run


async def list_runs(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    filters: RunFilters,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[RunRead], PageInfo]:
    """Runs of the caller's projects, newest first."""
    stmt = select(Run).where(Run.project_id.in_(member_project_ids(user_id)))
    if filters.project_id is not None:
        stmt = stmt.where(Run.project_id == filters.project_id)
    if filters.agent_id is not None:
        stmt = stmt.where(Run.kind == "agent", Run.target_id == filters.agent_id)
    if filters.workflow_id is not None:
        stmt = stmt.where(Run.kind == "workflow", Run.target_id == filters.workflow_id)
    if filters.status is not None:
        stmt = stmt.where(Run.status == filters.status)
    if filters.since is not None:
        stmt = stmt.where(Run.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Run.created_at < filters.until)
    rows, info = await paginate(
        db, stmt, order=[Run.created_at, Run.id], params=params, codec=codec
    )
    return [RunRead.model_validate(row[0]) for row in rows], info


async def load_run(
    db: AsyncSession, *, user_id: uuid.UUID, run_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> Run:
    return await load_project_row(db, Run, run_id, user_id=user_id, min_role=min_role, label="Run")


async def get_run(db: AsyncSession, *, user_id: uuid.UUID, run_id: uuid.UUID) -> RunDetail:
    run = await load_run(db, user_id=user_id, run_id=run_id)
    spans = (
        await db.scalars(
            select(Span).where(Span.run_id == run_id).order_by(Span.started_at, Span.id)
        )
    ).all()
    return RunDetail(**RunRead.model_validate(run).model_dump(), trace=span_tree(list(spans)))


def span_tree(spans: list[Span]) -> list[SpanRead]:
    """Spans (in start order) as a tree: each under its parent, top-level ones returned."""
    nodes = {
        span.id: SpanRead(
            id=span.id,
            parent_id=span.parent_id,
            type=span.type,
            name=span.name,
            model=span.model,
            provider=span.provider,
            input=span.input,
            output=span.output,
            error=span.error,
            tokens_in=span.tokens_in,
            tokens_out=span.tokens_out,
            cost=span.cost,
            status=span.status,
            started_at=span.started_at,
            duration_ms=span.duration_ms,
        )
        for span in spans
    }
    roots: list[SpanRead] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id else None
        (parent.children if parent is not None else roots).append(node)
    return roots


@dataclass(frozen=True)
class Cancelled:
    run: RunRead
    ending: events.RunEvent | None  # to publish: the run ended here (it was not running)
    signal: bool  # to publish: a worker runs it and must stop it


async def cancel_run(db: AsyncSession, *, user_id: uuid.UUID, run_id: uuid.UUID) -> Cancelled:
    """Cancel (editors): a queued or waiting run ends here; a running one is stopped by its
    worker within about a second (`after_cancel` signals it). A cancelled run answers as it
    is; a finished one is 409."""
    run = await load_run(db, user_id=user_id, run_id=run_id, min_role=Role.EDITOR)
    for _ in range(2):  # a worker may claim it between our read and our write
        if run.status == "cancelled":
            return Cancelled(RunRead.model_validate(run), None, signal=False)
        if run.status in FINISHED_STATUSES:
            raise Conflict(f"The run already {run.status}", details={"status": run.status})
        now = utcnow()
        values: dict[str, Any] = {"cancel_requested": True, "updated_at": now}
        if run.status != "running":
            values |= {"status": "cancelled", "finished_at": now}
        result = await db.execute(
            update(Run)
            .where(Run.id == run_id, Run.status == run.status)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        was = run.status
        await db.refresh(run)
        if getattr(result, "rowcount", 0):
            ending = None
            if was != "running":
                ending = events.ending_event(run_id, "cancelled", run.attempts, None, None)
            return Cancelled(RunRead.model_validate(run), ending, signal=was == "running")
    raise Conflict("The run changed while it was being cancelled; try again")


async def after_cancel(pubsub: PubSub, cancelled: Cancelled) -> None:
    """After the commit: stop the worker running it (any replica), or tell the followers."""
    if cancelled.signal:
        await pubsub.publish(events.CANCEL_CHANNEL, str(cancelled.run.id))
    if cancelled.ending is not None:
        await events.publish(
            pubsub, cancelled.ending, conversation_id=cancelled.run.conversation_id
        )
