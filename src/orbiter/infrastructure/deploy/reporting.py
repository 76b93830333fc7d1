"""Reporting a deployment's status and its log lines: the one service the pipeline and the
callback route (`POST /infrastructure/deployments/{id}/status`) both go through.

A status moves by compare-and-set on the row (`statuses.can_move`), so the pipeline and a
callback racing each other cannot both move it from the same status. A deployment that goes
`live` stops the workspace's earlier deployments that have not ended (a redeploy replaces
what ran before); the hosts running those see it and stop their processes (`local.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import Conflict, Unauthorized
from orbiter.core.security import hash_secret, same
from orbiter.core.time import utcnow
from orbiter.infrastructure.deploy.schemas import StatusReport
from orbiter.infrastructure.deploy.statuses import NOT_ENDED, can_move
from orbiter.models import AppDeployment, AppDeploymentLog

MAX_LINES = 5000  # per deployment; later lines are dropped (the last kept line says so)
MAX_LINE_CHARS = 4000
ATTEMPTS = 5
BAD_TOKEN = "Invalid or missing deployment token"  # noqa: S105 - a message


async def report_status(
    db: AsyncSession,
    deployment_id: uuid.UUID,
    status: str,
    *,
    url: str | None = None,
    error: str | None = None,
    at: datetime | None = None,
) -> tuple[str, bool]:
    """Move the deployment to `status`: (its status now, whether this call moved it). A
    repeat of the current status changes nothing; a move `can_move` refuses is 409."""
    for _ in range(ATTEMPTS):
        current = await db.scalar(
            select(AppDeployment.status).where(AppDeployment.id == deployment_id)
        )
        if current is None or current == status:
            return current or status, False
        if not can_move(current, status):
            raise Conflict(
                f"A {current} deployment cannot become {status}",
                details={"status": current},
            )
        if await _move(db, deployment_id, current, status, url=url, error=error, at=at):
            if status == "live":
                await _stop_earlier(db, deployment_id)
            return status, True
    raise Conflict("The deployment's status kept changing; report it again")


async def _move(
    db: AsyncSession,
    deployment_id: uuid.UUID,
    current: str,
    status: str,
    *,
    url: str | None,
    error: str | None,
    at: datetime | None,
) -> bool:
    now = utcnow()
    when = min(at, now) if at is not None else now
    values: dict[str, object] = {"status": status, "updated_at": now}
    if url is not None:
        values["url"] = url
    if error is not None:
        values["error"] = error
    if status in ("building", "deploying"):
        values["started_at"] = func.coalesce(AppDeployment.started_at, now)
    if status in ("live", "failed"):
        values["completed_at"] = when
    if status == "stopped":
        values["stopped_at"] = when
    moved = await db.execute(
        update(AppDeployment)
        .where(AppDeployment.id == deployment_id, AppDeployment.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


async def _stop_earlier(db: AsyncSession, deployment_id: uuid.UUID) -> None:
    row = (
        await db.execute(
            select(AppDeployment.workspace_id, AppDeployment.created_at).where(
                AppDeployment.id == deployment_id
            )
        )
    ).one()
    if row.workspace_id is None:
        return
    now = utcnow()
    await db.execute(
        update(AppDeployment)
        .where(
            AppDeployment.workspace_id == row.workspace_id,
            AppDeployment.id != deployment_id,
            AppDeployment.created_at <= row.created_at,
            AppDeployment.status.in_(NOT_ENDED),
        )
        .values(status="stopped", stopped_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def report_callback(
    db: AsyncSession, *, deployment_id: uuid.UUID, token: str | None, report: StatusReport
) -> tuple[str, bool]:
    """The pipeline's callback: 401 for an unknown deployment or a wrong token alike."""
    token_hash = await db.scalar(
        select(AppDeployment.token_hash).where(AppDeployment.id == deployment_id)
    )
    if not token or token_hash is None or not same(hash_secret(token), token_hash):
        raise Unauthorized(BAD_TOKEN)
    status, moved = await report_status(
        db,
        deployment_id,
        report.status,
        url=report.url,
        error=report.error,
        at=report.completed_at,
    )
    if moved:
        line = f"status {status} reported by the pipeline's callback"
        await append_logs(db, deployment_id, "system", [line])
    return status, moved


async def append_logs(
    db: AsyncSession, deployment_id: uuid.UUID, stream: str, lines: Sequence[str]
) -> None:
    """Add lines to the deployment's log, numbered after the ones it has."""
    if not lines:
        return
    start = await db.scalar(
        update(AppDeployment)
        .where(AppDeployment.id == deployment_id, AppDeployment.log_count < MAX_LINES)
        .values(log_count=AppDeployment.log_count + len(lines))
        .returning(AppDeployment.log_count - len(lines))
        .execution_options(synchronize_session=False)
    )
    if start is None:
        return
    kept = list(lines[: MAX_LINES - start])
    if len(kept) < len(lines):
        kept[-1] = f"(log truncated at {MAX_LINES} lines)"
    now = utcnow()
    await db.execute(
        insert(AppDeploymentLog),
        [
            {
                "id": uuid.uuid4(),
                "deployment_id": deployment_id,
                "seq": start + i + 1,
                "stream": stream,
                "line": text[:MAX_LINE_CHARS],
                "created_at": now,
            }
            for i, text in enumerate(kept)
        ],
    )
