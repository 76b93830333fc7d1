"""/api/v1/projects/{project_id}/brief, /next-steps and /decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.project_knowledge import brief, decisions, next_steps
from orbiter.project_knowledge.schemas import (
    BriefEnvelope,
    BriefUpdate,
    DecisionRead,
    ExtractedDecisions,
    GeneratedSteps,
    NextStepFeedback,
    NextStepRead,
    NextStepStatus,
    NextStepUpdate,
)
from orbiter.providers.rate_limit import enforce_llm_rate_limit
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/projects/{project_id}", tags=["project-knowledge"])
LLM_RESPONSES: dict[int | str, dict[str, str]] = {
    502: {"description": "The LLM provider failed or did not answer with the JSON asked for"},
    503: {"description": "No LLM provider is configured; the message says how to add one"},
}


@router.get("/brief", response_model=BriefEnvelope, summary="Get the project's brief")
async def get_brief(
    project_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> BriefEnvelope:
    return await brief.get_brief(db, user_id=principal.user_id, project_id=project_id)


@router.patch("/brief", response_model=BriefEnvelope, summary="Update the project's brief")
async def update_brief(
    project_id: uuid.UUID, body: BriefUpdate, principal: CurrentPrincipal, db: DbSession
) -> BriefEnvelope:
    """Set `intent`, `brief` or both (null clears one). Editors and owners."""
    return await brief.update_brief(db, user_id=principal.user_id, project_id=project_id, body=body)


@router.get("/next-steps", response_model=Page[NextStepRead], summary="List next steps")
async def list_next_steps(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    status: Annotated[NextStepStatus | None, Query(description="Only steps in this status")] = None,
) -> Page[NextStepRead]:
    """Newest first."""
    data, info = await next_steps.list_steps(
        db,
        user_id=principal.user_id,
        project_id=project_id,
        status=status,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)


@router.post(
    "/next-steps/generate",
    response_model=GeneratedSteps,
    responses=LLM_RESPONSES,
    summary="Suggest next steps with the LLM",
)
async def generate_next_steps(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
) -> GeneratedSteps:
    """Your default LLM provider suggests steps from the project's intent, brief, decisions
    and atlas; they are stored `pending`. Editors and owners; in the LLM rate-limit group."""
    decision = await enforce_llm_rate_limit(resources, principal)
    if decision is not None:
        response.headers.update(decision.headers())
    return await next_steps.generate_steps(
        db, resources, user_id=principal.user_id, project_id=project_id
    )


@router.patch(
    "/next-steps/{step_id}", response_model=NextStepRead, summary="Change a next step's status"
)
async def update_next_step(
    project_id: uuid.UUID,
    step_id: uuid.UUID,
    body: NextStepUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
) -> NextStepRead:
    return await next_steps.change_step(
        db, user_id=principal.user_id, project_id=project_id, step_id=step_id, body=body
    )


@router.post(
    "/next-steps/{step_id}/feedback",
    response_model=NextStepRead,
    summary="Say whether a next step helped",
)
async def next_step_feedback(
    project_id: uuid.UUID,
    step_id: uuid.UUID,
    body: NextStepFeedback,
    principal: CurrentPrincipal,
    db: DbSession,
) -> NextStepRead:
    return await next_steps.change_step(
        db, user_id=principal.user_id, project_id=project_id, step_id=step_id, body=body
    )


@router.get("/decisions", response_model=Page[DecisionRead], summary="List decisions")
async def list_decisions(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    include_links: Annotated[
        bool, Query(description="Add the atlas concepts each decision names")
    ] = False,
) -> Page[DecisionRead]:
    """Newest first."""
    data, info = await decisions.list_decisions(
        db,
        user_id=principal.user_id,
        project_id=project_id,
        include_links=include_links,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)


@router.post(
    "/decisions/extract",
    response_model=ExtractedDecisions,
    responses=LLM_RESPONSES,
    summary="Find decisions in recent conversations with the LLM",
)
async def extract_decisions(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
) -> ExtractedDecisions:
    """Your default LLM provider reads the project's recent conversation messages and lists
    the decisions taken, with the ids of the messages they came from. A decision already
    known (same normalized title) is not stored again; it gains the new message ids.
    Editors and owners; in the LLM rate-limit group."""
    decision = await enforce_llm_rate_limit(resources, principal)
    if decision is not None:
        response.headers.update(decision.headers())
    return await decisions.extract_decisions(
        db, resources, user_id=principal.user_id, project_id=project_id
    )
