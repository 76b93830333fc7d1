"""Token and cost totals of the spans that used tokens, in the caller's projects.

Whole hours come from `usage_rollups` (one row per project, hour, run kind and target,
provider, model and priced; added to when a span with usage closes), so a month of totals
reads a few rows per hour whatever the number of spans. The partial hours at the edges of
`since` and `until` come from the spans themselves, through the partial index
`ix_spans_usage` (project_id, started_at) WHERE tokens were used (covering model, provider,
tokens and cost on PostgreSQL): the answer is exact to the microsecond, and reads at most two
hours of spans. Conversation replies outside runs count as calls of kind "chat": in the rollup
as they end (conversations/usage.py), and at the edges from the messages (ix_messages_usage).
The other LLM calls made for a project (sync and drift help, snapshot summaries, project
knowledge; runs/llm_calls.py) count as kind "assist": in the rollup as they are made, at the
edges from `llm_calls`. Grouped by agent or workflow, both are left out, like any call of
another kind of run."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, Select, String, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orbiter.core.db import read_only
from orbiter.core.errors import ValidationFailed
from orbiter.core.time import as_utc
from orbiter.models import Conversation, Message
from orbiter.models.runs import NO_TARGET, LlmCall, Run, Span, UsageRollup
from orbiter.monitoring.schemas import CostBucket, CostReport, CostTotals, GroupBy
from orbiter.tenancy.access import member_project_ids

HOUR = timedelta(hours=1)
EARLIEST, LATEST = datetime(1900, 1, 1), datetime(9998, 12, 31)
Row = tuple[Any, bool, int, int, float | None, int]
Projects = Select[uuid.UUID] | list[uuid.UUID]  # the projects whose usage counts


def _day(column: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.substr(cast(column, String), 1, 10)
    return cast(func.timezone("UTC", column), Date)


def _key(group_by: GroupBy, dialect: str, *columns: Any) -> Any:
    """The grouping column among (time, provider, model, target) of one source."""
    at, provider, model, target = columns
    if group_by == "day":
        return _day(at, dialect)
    return {"provider": provider, "model": model}.get(group_by, target)


def _grouped(
    key: Any, unpriced: Any, tokens_in: Any, tokens_out: Any, cost: Any, n: Any
) -> Select[Any]:
    """(key, unpriced, tokens in, tokens out, cost, calls) per key and unpriced."""
    return select(
        key, unpriced, func.sum(tokens_in), func.sum(tokens_out), func.sum(cost), n
    ).group_by(key, unpriced)


def _window(
    stmt: Select[Any], at: Any, since: datetime | None, until: datetime | None
) -> Select[Any]:
    """Only the calls whose time `at` is in [since, until)."""
    if since is not None:
        stmt = stmt.where(at >= since)
    if until is not None:
        stmt = stmt.where(at < until)
    return stmt


def _span_totals(
    group_by: GroupBy,
    dialect: str,
    projects: Projects,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    key = _key(group_by, dialect, Span.started_at, Span.provider, Span.model, Run.target_id)
    unpriced = Span.cost.is_(None)
    stmt = _grouped(key, unpriced, Span.tokens_in, Span.tokens_out, Span.cost, func.count()).where(
        Span.project_id.in_(projects),
        or_(Span.tokens_in > 0, Span.tokens_out > 0),
    )
    stmt = _window(stmt, Span.started_at, since, until)
    if group_by in ("agent", "workflow"):
        stmt = stmt.join(Run, and_(Run.id == Span.run_id, Run.kind == group_by))
    return stmt


def _reply_totals(
    group_by: GroupBy,
    dialect: str,
    projects: Projects,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    """Conversation replies outside runs: the same columns as `_span_totals`."""
    m = Message
    key = _key(group_by, dialect, m.created_at, m.provider_type, m.model, None)
    tokens_in, tokens_out = func.coalesce(m.prompt_tokens, 0), func.coalesce(m.completion_tokens, 0)
    stmt = (
        _grouped(key, m.cost.is_(None), tokens_in, tokens_out, m.cost, func.count())
        .join(Conversation, Conversation.id == m.conversation_id)
        .where(
            m.run_id.is_(None),
            or_(m.prompt_tokens > 0, m.completion_tokens > 0),
            Conversation.project_id.in_(projects),
        )
    )
    stmt = _window(stmt, m.created_at, since, until)
    return stmt


def _call_totals(
    group_by: GroupBy,
    dialect: str,
    projects: Projects,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    """The other LLM calls made for projects: the same columns as `_span_totals`."""
    c = LlmCall
    key = _key(group_by, dialect, c.created_at, c.provider_type, c.model, None)
    stmt = _grouped(key, c.cost.is_(None), c.tokens_in, c.tokens_out, c.cost, func.count()).where(
        c.project_id.in_(projects)
    )
    stmt = _window(stmt, c.created_at, since, until)
    return stmt


def _edge_totals(
    group_by: GroupBy,
    dialect: str,
    projects: Projects,
    since: datetime | None,
    until: datetime | None,
) -> list[Select[Any]]:
    """The calls in [since, until) read one by one: spans, and replies unless grouped by a
    kind of run."""
    spans = _span_totals(group_by, dialect, projects, since, until)
    if group_by in ("agent", "workflow"):
        return [spans]
    return [
        spans,
        _reply_totals(group_by, dialect, projects, since, until),
        _call_totals(group_by, dialect, projects, since, until),
    ]


def _rollup_totals(
    group_by: GroupBy,
    dialect: str,
    projects: Projects,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    key = _key(
        group_by,
        dialect,
        UsageRollup.hour,
        UsageRollup.provider,
        UsageRollup.model,
        UsageRollup.target_id,
    )
    unpriced = UsageRollup.priced.is_(False)
    r = UsageRollup
    stmt = _grouped(key, unpriced, r.tokens_in, r.tokens_out, r.cost, func.sum(r.spans)).where(
        UsageRollup.project_id.in_(projects)
    )
    if group_by in ("agent", "workflow"):
        stmt = stmt.where(UsageRollup.kind == group_by)
    if since is not None:
        stmt = stmt.where(UsageRollup.hour >= since)
    if until is not None:
        stmt = stmt.where(UsageRollup.hour < until)
    return stmt


def _plan(
    group_by: GroupBy,
    dialect: str,
    projects: Projects,
    since: datetime | None,
    until: datetime | None,
) -> list[Select[Any]]:
    """The statements whose rows add up to [since, until): whole hours from the rollup, the
    partial hours at either edge from the spans."""
    if since is not None and until is not None and since >= until:
        return []
    first = None if since is None else _ceil(since)
    last = None if until is None else _floor(until)
    if first is not None and last is not None and first >= last:  # within one or two hours
        return _edge_totals(group_by, dialect, projects, since, until)
    plan = [_rollup_totals(group_by, dialect, projects, first, last)]
    if since is not None and first is not None and since < first:
        plan += _edge_totals(group_by, dialect, projects, since, first)
    if until is not None and last is not None and last < until:
        plan += _edge_totals(group_by, dialect, projects, last, until)
    return plan


def _ceil(value: datetime) -> datetime:
    floor = _floor(value)
    return floor if floor == value else floor + HOUR


def _bound(field: str, value: datetime | None) -> datetime | None:
    """In UTC, and far enough from the ends of the calendar to round to whole hours."""
    if value is None:
        return None
    if not EARLIEST <= value.replace(tzinfo=None) <= LATEST:
        raise ValidationFailed.for_field(field, "Must be between the years 1900 and 9998")
    return as_utc(value)


def _floor(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


async def report(
    engine: AsyncEngine,
    *,
    user_id: uuid.UUID,
    group_by: GroupBy,
    since: datetime | None,
    until: datetime | None,
) -> CostReport:
    since, until = _bound("since", since), _bound("until", until)
    buckets = _buckets(await _rows(engine, group_by, member_project_ids(user_id), since, until))
    return CostReport(
        group_by=group_by, since=since, until=until, buckets=buckets, totals=_totals(buckets)
    )


async def _rows(
    engine: AsyncEngine,
    group_by: GroupBy,
    projects: Projects,
    since: datetime | None,
    until: datetime | None,
) -> list[Row]:
    rows: list[Row] = []
    async with read_only(engine) as conn:
        for stmt in _plan(group_by, engine.dialect.name, projects, since, until):
            rows.extend(tuple(row) for row in await conn.execute(stmt))
    return rows


async def project_spend(
    engine: AsyncEngine, *, project_id: uuid.UUID, since: datetime, until: datetime
) -> float:
    """The cost of one project's priced spans in [since, until) (the alerts' `cost`
    measure), from the rollup and the edge hours' spans like `report`."""
    rows = await _rows(engine, "provider", [project_id], as_utc(since), as_utc(until))
    return sum(float(cost or 0.0) for _key, unpriced, _in, _out, cost, _n in rows if not unpriced)


def _buckets(rows: list[Row]) -> list[CostBucket]:
    merged: dict[tuple[str | None, bool], list[Any]] = {}
    for key, unpriced, t_in, t_out, cost, n in rows:
        name = None if key in (None, "", NO_TARGET) else str(key)
        into = merged.setdefault((name, bool(unpriced)), [0, 0, 0.0, 0])
        into[0] += int(t_in or 0)
        into[1] += int(t_out or 0)
        into[2] += float(cost or 0.0)
        into[3] += int(n)
    order = sorted(merged, key=lambda k: (k[0] is None, k[0] or "", k[1]))
    return [
        CostBucket(
            key=name,
            tokens_in=merged[name, unpriced][0],
            tokens_out=merged[name, unpriced][1],
            cost=None if unpriced else merged[name, unpriced][2],
            spans=merged[name, unpriced][3],
        )
        for name, unpriced in order
    ]


def _totals(buckets: list[CostBucket]) -> CostTotals:
    return CostTotals(
        tokens_in=sum(b.tokens_in for b in buckets),
        tokens_out=sum(b.tokens_out for b in buckets),
        cost=sum(b.cost or 0.0 for b in buckets),
        unpriced_spans=sum(b.spans for b in buckets if b.cost is None),
    )
