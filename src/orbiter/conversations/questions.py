"""Answering a question an agent asked in a conversation (the built-in `ask_user` tool).

The run waiting for the answer is `awaiting_input`; the engine keeps the question it asked in
the run's state (`runs.events.AWAITING_KEY`: the `question` event with its `request_id` and
questions). A reply (`answers`: one list of strings per question) or a rejection brings the run
back through `runs.service.resume_run`; the worker continues it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.conversations.service import load_conversation
from orbiter.core.errors import NotFound, ValidationFailed
from orbiter.models import Role, Run
from orbiter.runs import events as run_events
from orbiter.runs import service as runs
from orbiter.runs.schemas import RunRead
from orbiter.runtime.resources import Resources


def asked(run: Run) -> dict[str, Any] | None:
    """The question the waiting run asked (the `question` event's data), if any."""
    waiting = (run.state or {}).get(run_events.AWAITING_KEY)
    if not isinstance(waiting, dict) or waiting.get("event") != "question":
        return None
    data = waiting.get("data")
    return data if isinstance(data, dict) else None


async def _waiting_run(
    db: AsyncSession, *, conversation_id: uuid.UUID, request_id: str
) -> tuple[Run, dict[str, Any]]:
    waiting = (
        await db.scalars(
            select(Run).where(
                Run.conversation_id == conversation_id, Run.status == "awaiting_input"
            )
        )
    ).all()
    for run in waiting:
        question = asked(run)
        if question is not None and question.get("request_id") == request_id:
            return run, question
    raise NotFound("Question not found, or already answered")


async def answer_question(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    request_id: str,
    answers: list[list[str]] | None,
) -> RunRead:
    """Reply (`answers`) or reject (None) the question; editors of the project only."""
    await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id, min_role=Role.EDITOR
    )
    run, question = await _waiting_run(db, conversation_id=conversation_id, request_id=request_id)
    payload: dict[str, Any] = {"request_id": request_id}
    if answers is None:
        payload["rejected"] = True
    else:
        asked_count = len(question.get("questions") or [])
        if len(answers) != asked_count:
            raise ValidationFailed.for_field(
                "answers",
                f"The agent asked {asked_count} question(s); send one list of answers for each",
            )
        payload["answers"] = answers
    resumed = await runs.resume_run(db, resources, run_id=run.id, payload=payload)
    return RunRead.model_validate(resumed)
