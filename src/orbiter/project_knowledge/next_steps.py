"""Next steps: suggested by the user's LLM from the project's brief, intent, decisions and
atlas, each with a rationale; then moved through their statuses and rated by members."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.atlas.summary import atlas_summary
from orbiter.core.errors import NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.models import Decision, NextStep, Role
from orbiter.project_knowledge.brief import stored_brief
from orbiter.project_knowledge.llm_json import ask_json, text_field
from orbiter.project_knowledge.schemas import (
    GeneratedSteps,
    NextStepFeedback,
    NextStepRead,
    NextStepStatus,
    NextStepUpdate,
)
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project

MAX_STEPS = 10
CONTEXT_DECISIONS = 30
CONTEXT_OPEN_STEPS = 30
PRIORITIES = ("high", "medium", "low")
SYSTEM = (
    "You are a staff engineer helping a team decide what to do next on their software "
    "project. From the project context you are given, suggest concrete next steps. Answer "
    'with one JSON object only: {"next_steps": [{"title": str, "description": str, '
    '"rationale": str, "priority": "high"|"medium"|"low"}]}. The rationale says which part '
    "of the context (intent, brief, a decision, the code structure) the step follows from. "
    f"At most {MAX_STEPS} steps; do not repeat the open steps listed."
)


def step_read(row: NextStep) -> NextStepRead:
    return NextStepRead.model_validate(row, from_attributes=True)


async def list_steps(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    status: NextStepStatus | None,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[NextStepRead], PageInfo]:
    """Newest first, optionally only those with `status`."""
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = select(NextStep).where(NextStep.project_id == project_id)
    if status is not None:
        stmt = stmt.where(NextStep.status == status)
    rows, info = await paginate(
        db, stmt, order=[NextStep.created_at, NextStep.id], params=params, codec=codec
    )
    return [step_read(row[0]) for row in rows], info


async def _context(db: AsyncSession, project_id: uuid.UUID) -> dict[str, Any]:
    brief = await stored_brief(db, project_id)
    decisions = (
        await db.scalars(
            select(Decision)
            .where(Decision.project_id == project_id)
            .order_by(Decision.created_at.desc(), Decision.id)
            .limit(CONTEXT_DECISIONS)
        )
    ).all()
    open_steps = (
        await db.scalars(
            select(NextStep.title)
            .where(NextStep.project_id == project_id, NextStep.status.in_(("pending", "started")))
            .order_by(NextStep.created_at.desc(), NextStep.id)
            .limit(CONTEXT_OPEN_STEPS)
        )
    ).all()
    return {
        "intent": brief.intent if brief else None,
        "brief": brief.brief if brief else None,
        "decisions": [{"title": d.title, "rationale": d.rationale} for d in decisions],
        "code_structure": await atlas_summary(db, project_id=project_id),
        "open_steps": list(open_steps),
    }


def _steps_from(items: list[Any]) -> list[dict[str, str]]:
    steps = []
    for item in items:
        if not isinstance(item, dict) or not text_field(item, "title", 300):
            continue
        priority = text_field(item, "priority", 16).lower()
        steps.append(
            {
                "title": text_field(item, "title", 300),
                "description": text_field(item, "description", 4000),
                "rationale": text_field(item, "rationale", 4000),
                "priority": priority if priority in PRIORITIES else "medium",
            }
        )
    return steps[:MAX_STEPS]


async def generate_steps(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, project_id: uuid.UUID
) -> GeneratedSteps:
    """Ask the model for next steps and store them `pending` (editors only)."""
    project, _ = await load_project(
        db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR
    )
    context = {"project": project.name, "description": project.description}
    context |= await _context(db, project_id)
    prompt = "Project context (JSON):\n" + json.dumps(context, indent=1, default=str)
    answer = await ask_json(
        db,
        resources,
        user_id=user_id,
        project_id=project_id,
        purpose="next_steps",
        system=SYSTEM,
        prompt=prompt,
        key="next_steps",
    )
    rows = [
        NextStep(project_id=project_id, created_by=user_id, **step) for step in _steps_from(answer)
    ]
    db.add_all(rows)
    await db.flush()
    return GeneratedSteps(next_steps=[step_read(r) for r in rows], generated_count=len(rows))


async def change_step(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    step_id: uuid.UUID,
    body: NextStepUpdate | NextStepFeedback,
) -> NextStepRead:
    """Set its status, or the feedback on it (editors only)."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    step = await db.get(NextStep, step_id)
    if step is None or step.project_id != project_id:
        raise NotFound("Next step not found")
    for name, value in body.model_dump().items():
        setattr(step, name, value)
    await db.flush()
    return step_read(step)
