"""Invoking a deployment: a run of its target at the pinned version.

Two kinds of caller: an editor of the project with their own credentials (the run is theirs),
or the holder of the deployment's key (the run is the deployment creator's, who must still be
an editor of the project). A key names one deployment: the hash of the key sent must be the
hash of the deployment named, so another deployment's key, a revoked key and a made-up one get
the same 401, whether or not the deployment exists.

A workflow runs the pinned version (`version_by_hash`) with `trigger: "deployment"`; an agent
runs with the settings the deployment pinned (`input.pinned`, read by the agent executor).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.agents.schemas import MAX_INPUT
from orbiter.conversations.agent_turns import queue_agent_run
from orbiter.core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from orbiter.core.time import utcnow
from orbiter.deployments.keys import key_matches
from orbiter.deployments.service import load_deployment
from orbiter.models import Agent, Deployment, Role, Run, Workflow
from orbiter.runs.schemas import RunRead
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project
from orbiter.workflows.running import start_workflow_run, version_by_hash

TRIGGER = "deployment"
BAD_KEY = "Invalid or revoked deployment key"
CREATOR_GONE = (
    "The deployment's key runs it as the user who created it, who is no longer an editor of "
    "its project; an editor can invoke it with their own credentials or deploy it anew"
)


async def invoke(
    db: AsyncSession,
    resources: Resources,
    *,
    deployment_id: uuid.UUID,
    inputs: dict[str, Any],
    user_id: uuid.UUID | None = None,
    key: str | None = None,
) -> Run:
    """A queued run of the deployment, by an editor (`user_id`) or by its `key`."""
    row, user_id = await _caller(db, deployment_id, user_id, key, Role.EDITOR)
    if row.target_type == "workflow":
        run = await _run_workflow(db, resources, row, user_id, inputs)
    else:
        run = await _run_agent(db, resources, row, user_id, inputs)
    row.last_invoked_at = utcnow()
    await db.flush()
    return run


async def invoked_run(
    db: AsyncSession,
    *,
    deployment_id: uuid.UUID,
    run_id: uuid.UUID,
    user_id: uuid.UUID | None = None,
    key: str | None = None,
) -> RunRead:
    """A run this deployment started, for its key's holder or a member of its project; 404 for
    any other run, whoever started it."""
    row, _ = await _caller(db, deployment_id, user_id, key, Role.VIEWER)
    run = await db.get(Run, run_id)
    if run is None or run.project_id != row.project_id:
        raise NotFound("Run not found")
    if (run.input or {}).get("deployment_id") != str(row.id):
        raise NotFound("Run not found")
    return invoked(run)


def invoked(run: Run) -> RunRead:
    """The run as the caller sees it: without the agent settings the run carries (a key
    holder may invoke an agent without seeing its instructions)."""
    read = RunRead.model_validate(run)
    return read.model_copy(update={"input": {k: v for k, v in read.input.items() if k != "pinned"}})


async def _caller(
    db: AsyncSession,
    deployment_id: uuid.UUID,
    user_id: uuid.UUID | None,
    key: str | None,
    min_role: Role,
) -> tuple[Deployment, uuid.UUID]:
    """The deployment and the user acting: the key's (its creator) or the caller's own."""
    if key is not None:
        return await _by_key(db, deployment_id, key)
    if user_id is None:
        raise Unauthorized("Send your credentials or the deployment's key as X-API-Key")
    row = await load_deployment(db, user_id=user_id, deployment_id=deployment_id, min_role=min_role)
    return row, user_id


async def _by_key(
    db: AsyncSession, deployment_id: uuid.UUID, key: str
) -> tuple[Deployment, uuid.UUID]:
    row = await db.get(Deployment, deployment_id)
    if row is None or not key_matches(row, key):
        raise Unauthorized(BAD_KEY)
    if row.created_by is None:
        raise Forbidden(CREATOR_GONE)
    try:
        await load_project(
            db, user_id=row.created_by, project_id=row.project_id, min_role=Role.EDITOR
        )
    except (NotFound, Forbidden) as exc:
        raise Forbidden(CREATOR_GONE) from exc
    return row, row.created_by


async def _run_workflow(
    db: AsyncSession,
    resources: Resources,
    row: Deployment,
    user_id: uuid.UUID,
    inputs: dict[str, Any],
) -> Run:
    workflow = await db.get(Workflow, row.target_id)
    version = None
    if workflow is not None and workflow.project_id == row.project_id:
        version = await version_by_hash(db, workflow.id, row.target_version)
    if workflow is None or version is None:
        raise Conflict("The deployed workflow (or its pinned version) was deleted")
    return await start_workflow_run(
        db,
        resources,
        user_id=user_id,
        workflow=workflow,
        inputs=inputs,
        trigger=TRIGGER,
        version=version,
        deployment_id=row.id,
    )


async def _run_agent(
    db: AsyncSession,
    resources: Resources,
    row: Deployment,
    user_id: uuid.UUID,
    inputs: dict[str, Any],
) -> Run:
    text = inputs.get("input")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_INPUT:
        raise ValidationFailed.for_field(
            "inputs.input",
            f"An agent deployment answers `inputs.input`: a message of 1 to {MAX_INPUT} characters",
        )
    agent = await db.get(Agent, row.target_id)
    if agent is None or agent.project_id != row.project_id:
        raise Conflict("The deployed agent was deleted")
    return await queue_agent_run(
        db,
        resources,
        user_id=user_id,
        agent=agent,
        input={"input": text, "pinned": row.pinned, "deployment_id": str(row.id)},
        version=row.target_version,
    )
