"""Runs and spans with known token usage, inserted straight through the engine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from orbiter.core.db import transaction
from orbiter.models.runs import Run, Span
from orbiter.runtime.resources import Resources

DAY1 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 3, 23, 30, tzinfo=UTC)

# (model, provider, tokens_in, tokens_out, cost, started_at)
USAGE = [
    ("gpt-4o", "openai", 100, 20, 0.5, DAY1),
    ("gpt-4o", "openai", 300, 40, 1.25, DAY2),
    ("claude", "anthropic", 50, 5, 0.125, DAY2),
    ("homebrew", "local", 7, 3, None, DAY1),  # unpriced
]


async def insert_run(
    resources: Resources,
    project_id: str,
    usage: list[tuple[Any, ...]],
    kind: str = "agent",
    target_id: uuid.UUID | None = None,
    status: str = "succeeded",
    created_at: datetime | None = None,
) -> None:
    """A finished run with one span per LLM call, plus a step span without usage."""
    run_id = uuid.uuid4()
    project = uuid.UUID(project_id)
    async with transaction(resources.sessionmaker) as db:
        db.add(
            Run(
                id=run_id,
                project_id=project,
                kind=kind,
                target_id=target_id,
                status=status,
                created_at=created_at or DAY1,
                input={},
                state={},
            )
        )
        await db.flush()
        db.add(
            Span(
                run_id=run_id,
                project_id=project,
                type="step",
                name="plan",
                status="ok",
                started_at=DAY1,
            )
        )
        for model, provider, t_in, t_out, cost, at in usage:
            db.add(
                Span(
                    run_id=run_id,
                    project_id=project,
                    type="llm",
                    name="call",
                    model=model,
                    provider=provider,
                    tokens_in=t_in,
                    tokens_out=t_out,
                    cost=cost,
                    status="ok",
                    started_at=at,
                )
            )
