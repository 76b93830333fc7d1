"""Starting a workflow's run: at the version current now (or a pinned one), with its inputs.

The run is `kind="workflow"`, `target_id` the workflow, `target_version` the content hash of
the canvas it runs; its input is `{"inputs": {...}, "trigger": "manual"|"webhook"|...}`. The
executor (`workflows.executor`) reads the canvas of that version, so saving the workflow
while it runs changes nothing for it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import NotFound, ValidationFailed
from orbiter.models import Role, Run, Workflow, WorkflowVersion
from orbiter.runs.service import create_run
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project_row
from orbiter.tools.schema_check import input_problems
from orbiter.workflows.nodes import REGISTRY

KIND = "workflow"


async def current_version(db: AsyncSession, workflow: Workflow) -> WorkflowVersion:
    version = await db.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id,
            WorkflowVersion.version == workflow.version,
        )
    )
    if version is None:  # written in the same transaction as the canvas
        raise NotFound("The workflow's current version is missing")
    return version


async def version_by_hash(
    db: AsyncSession, workflow_id: uuid.UUID, content_hash: str
) -> WorkflowVersion | None:
    return await db.scalar(
        select(WorkflowVersion)
        .where(
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.content_hash == content_hash,
        )
        .limit(1)
    )


def trigger_node(canvas: dict[str, Any]) -> dict[str, Any]:
    """The canvas's one trigger (validation guarantees exactly one)."""
    for node in canvas.get("nodes", []):
        node_type = REGISTRY.get(str(node.get("data", {}).get("nodeType")))
        if node_type is not None and node_type.is_trigger:
            return dict(node)
    raise NotFound("The workflow has no trigger")


async def start_workflow_run(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    workflow: Workflow,
    inputs: dict[str, Any],
    trigger: str,
    version: WorkflowVersion | None = None,
    idempotency_key: str | None = None,
    deployment_id: uuid.UUID | None = None,
) -> Run:
    """A queued run of the workflow as `user_id` (an editor of its project, checked here);
    422 when a manual trigger's `input_schema` refuses the inputs. A deployment's run names
    it in its input (`deployment_id`): its key reads the run back."""
    version = version or await current_version(db, workflow)
    _check_inputs(version.canvas, inputs)
    return await create_run(
        db,
        resources,
        user_id=user_id,
        project_id=workflow.project_id,
        kind=KIND,
        input={"inputs": inputs, "trigger": trigger}
        | ({"deployment_id": str(deployment_id)} if deployment_id else {}),
        target_id=workflow.id,
        target_version=version.content_hash,
        idempotency_key=idempotency_key,
    )


def _check_inputs(canvas: dict[str, Any], inputs: dict[str, Any]) -> None:
    schema = trigger_node(canvas).get("data", {}).get("input_schema")
    if not schema:
        return
    problems = [
        {**p, "field": "inputs" + p["field"].removeprefix("input")}
        for p in input_problems(schema, inputs)
    ]
    if problems:
        raise ValidationFailed(
            f"The inputs do not match the trigger's input_schema: {problems[0]['message']}",
            details={"fields": problems},
        )


async def start_run(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    workflow_id: uuid.UUID,
    inputs: dict[str, Any],
    trigger: str = "manual",
    idempotency_key: str | None = None,
) -> Run:
    """A run of the workflow's current version, started by an editor of its project."""
    workflow = await load_project_row(
        db, Workflow, workflow_id, user_id=user_id, min_role=Role.EDITOR, label="Workflow"
    )
    return await start_workflow_run(
        db,
        resources,
        user_id=user_id,
        workflow=workflow,
        inputs=inputs,
        trigger=trigger,
        idempotency_key=idempotency_key,
    )
