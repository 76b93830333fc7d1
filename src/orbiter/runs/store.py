"""The engine's writes: single statements on an autocommit connection (one round trip each).

Every write of a running run is fenced by the claim that started it: `status = 'running' AND
attempts = <the claim's attempts>`. A worker that lost its run (the reaper failed it, or a
cancel ended it) changes nothing any more, and learns so from the row count.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from orbiter.core.db import read_only
from orbiter.core.time import utcnow
from orbiter.models import Run, Span, UsageRollup

# Autocommit: each statement is its own transaction (read_only is that connection).
single_statements = read_only
# The hot writes (claim, heartbeat, spans, the outcome) go to the tables, not the mapped
# classes: Core statements skip the ORM's per-statement DML bookkeeping (bench/runs.py).
RUNS = cast(Table, Run.__table__)
SPANS = cast(Table, Span.__table__)

CLAIMED = (
    Run.id,
    Run.project_id,
    Run.user_id,
    Run.kind,
    Run.target_id,
    Run.target_version,
    Run.conversation_id,
    Run.input,
    Run.state,
    Run.attempts,
    Run.tokens_in,
    Run.tokens_out,
    Run.cost,
)


def _owned(run_id: uuid.UUID, attempts: int) -> Any:
    c = RUNS.c
    return (c.id == run_id) & (c.status == "running") & (c.attempts == attempts)


async def claim(conn: AsyncConnection, run_id: uuid.UUID) -> Row[Any] | None:
    """Take a queued run: running, one more attempt. None when it is not queued (another
    worker has it, or it ended): a job delivered twice does nothing the second time."""
    now = utcnow()
    c = RUNS.c
    started = literal(now, c.started_at.type)
    stmt = (
        update(RUNS)
        .where(c.id == run_id, c.status == "queued")
        .values(
            status="running",
            attempts=c.attempts + 1,
            started_at=func.coalesce(c.started_at, started),
            heartbeat_at=now,
            updated_at=now,
        )
        .returning(*(c[column.key] for column in CLAIMED))
    )
    return (await conn.execute(stmt)).first()


async def heartbeat(conn: AsyncConnection, run_id: uuid.UUID, attempts: int) -> bool | None:
    """Still ours: whether a cancel was requested. None: the run is no longer ours."""
    stmt = (
        update(RUNS)
        .where(_owned(run_id, attempts))
        .values(heartbeat_at=utcnow())
        .returning(RUNS.c.cancel_requested)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else bool(row[0])


async def update_owned(
    conn: AsyncConnection, run_id: uuid.UUID, attempts: int, **values: Any
) -> bool:
    """Write `values` to the run while this claim owns it; False when it no longer does."""
    result = await conn.execute(
        update(RUNS).where(_owned(run_id, attempts)).values(updated_at=utcnow(), **values)
    )
    return bool(getattr(result, "rowcount", 0))


# Built once, values passed as parameters: a span is written twice per step or node, and
# building `.values(...)` each time cost more CPU than the write (bench/workflows.py).
INSERT_SPAN = insert(SPANS)
CLOSE_SPAN = update(SPANS).where(SPANS.c.id == bindparam("closed_span_id"))


async def insert_span(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(INSERT_SPAN, values)


async def close_span(conn: AsyncConnection, span_id: uuid.UUID, **values: Any) -> None:
    await conn.execute(CLOSE_SPAN, {"closed_span_id": span_id, **values})


async def close_open_spans(
    conn: AsyncConnection, run_id: uuid.UUID, error: str, now: datetime | None = None
) -> int:
    """Close the spans a run left open (it was cancelled, failed or lost its worker)."""
    now = now or utcnow()
    rows = (
        await conn.execute(
            select(Span.id, Span.started_at).where(Span.run_id == run_id, Span.status == "open")
        )
    ).all()
    for span_id, started_at in rows:
        duration = max(0, int((now - started_at).total_seconds() * 1000))
        await conn.execute(
            update(Span)
            .where(Span.id == span_id, Span.status == "open")
            .values(status="error", error=error, duration_ms=duration)
        )
    return len(rows)


async def stale_runs(
    conn: AsyncConnection, cutoff: datetime, limit: int
) -> list[tuple[uuid.UUID, int, uuid.UUID | None]]:
    """Running runs whose heartbeat is older than `cutoff`: their worker is gone."""
    stmt = (
        select(Run.id, Run.attempts, Run.conversation_id)
        .where(Run.status == "running", Run.heartbeat_at < cutoff)
        .limit(limit)
    )
    return [(row.id, row.attempts, row.conversation_id) for row in await conn.execute(stmt)]


async def fail_stale(
    conn: AsyncConnection, run_id: uuid.UUID, attempts: int, cutoff: datetime, error: Any
) -> bool:
    now = utcnow()
    result = await conn.execute(
        update(RUNS)
        .where(_owned(run_id, attempts), RUNS.c.heartbeat_at < cutoff)
        .values(status="failed", error=error, finished_at=now, heartbeat_at=None, updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def queued_before(conn: AsyncConnection, cutoff: datetime, limit: int) -> list[uuid.UUID]:
    """Queued runs not touched since `cutoff` (their job may be lost), touched now so the next
    pass leaves them alone for a while."""
    ids = list(
        (
            await conn.execute(
                select(Run.id)
                .where(Run.status == "queued", Run.updated_at < cutoff)
                .order_by(Run.updated_at)
                .limit(limit)
            )
        ).scalars()
    )
    if ids:
        await conn.execute(
            update(Run).where(Run.id.in_(ids), Run.status == "queued").values(updated_at=utcnow())
        )
    return ids


async def ending_row(conn: AsyncConnection, run_id: uuid.UUID) -> Row[Any] | None:
    stmt = select(Run.status, Run.attempts, Run.output, Run.error, Run.state).where(
        Run.id == run_id
    )
    return (await conn.execute(stmt)).first()


async def add_usage(conn: AsyncConnection, **key: Any) -> None:
    """Add one closed span's usage to its hour's row of `usage_rollups` (made when missing).
    `key`: project_id, hour, kind, target_id, provider, model, priced, and the span's
    tokens_in, tokens_out and cost (0.0 when unpriced)."""
    added = {name: key.pop(name) for name in ("tokens_in", "tokens_out", "cost")}
    insert_ = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    table = cast(Table, UsageRollup.__table__)
    stmt = insert_(table).values(**key, **added, spans=1)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(key),
            set_={
                **{name: table.c[name] + stmt.excluded[name] for name in added},
                "spans": table.c.spans + 1,
            },
        )
    )
