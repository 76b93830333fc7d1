"""Approval gates: a run waiting as `awaiting_approval` (its executor raised `AwaitApproval`) is
approved, and goes back to a worker, or rejected, and ends `cancelled` there.

Only editors and owners of the run's project decide (viewers 403, strangers 404). The executor
reads the decision as `ctx.resume`: `{"approved": true, "comment", "payload", "decided_by"}`
where `payload` is the approver's edited version of what the gate asked (or null).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import Conflict
from orbiter.core.time import utcnow
from orbiter.models import Role, Run
from orbiter.runs import events
from orbiter.runs.schemas import ApproveRequest, RejectRequest, RunRead
from orbiter.runs.service import Cancelled, load_run, resume_run
from orbiter.runtime.resources import Resources

REJECTED = "APPROVAL_REJECTED"


async def approve_run(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    run_id: uuid.UUID,
    decision: ApproveRequest,
) -> RunRead:
    """Send the run back to a worker with the approval; 409 unless it waits for one."""
    await _waiting_for_approval(db, user_id, run_id)
    resume: dict[str, Any] = {
        "approved": True,
        "comment": decision.comment,
        "payload": decision.payload,
        "decided_by": str(user_id),
    }
    run = await resume_run(db, resources, run_id=run_id, payload=resume)
    return RunRead.model_validate(run)


async def reject_run(
    db: AsyncSession, *, user_id: uuid.UUID, run_id: uuid.UUID, decision: RejectRequest
) -> Cancelled:
    """End the run `cancelled` at its gate, the reason as its error; 409 unless it waits for
    an approval. The ending event is the caller's to publish after the commit."""
    run = await _waiting_for_approval(db, user_id, run_id)
    now = utcnow()
    error = {"code": REJECTED, "message": decision.reason or "Rejected at the approval gate"}
    result = await db.execute(
        update(Run)
        .where(Run.id == run_id, Run.status == "awaiting_approval")
        .values(status="cancelled", error=error, finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise Conflict("The run was approved, rejected or cancelled meanwhile")
    await db.refresh(run)
    ending = events.ending_event(run_id, "cancelled", run.attempts, None, error)
    return Cancelled(RunRead.model_validate(run), ending, signal=False)


async def _waiting_for_approval(db: AsyncSession, user_id: uuid.UUID, run_id: uuid.UUID) -> Run:
    run = await load_run(db, user_id=user_id, run_id=run_id, min_role=Role.EDITOR)
    if run.status != "awaiting_approval":
        raise Conflict(
            f"The run is {run.status}, not waiting for an approval",
            details={"status": run.status},
        )
    return run
