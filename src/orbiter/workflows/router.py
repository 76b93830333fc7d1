"""/api/v1/workflows: workflows of a project and their saved versions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from orbiter.auth.dependencies import ApiKeyPrincipal, CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.core.sse import SSE_MEDIA_TYPE
from orbiter.runs.http import (
    RUN_EVENTS_RESPONSE,
    WAITED_RESPONSE,
    IdempotencyKey,
    Wait,
    run_events_response,
    waited,
)
from orbiter.runs.schemas import RunRead
from orbiter.runs.waiting import start_committed
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep
from orbiter.workflows import running, service
from orbiter.workflows.schemas import (
    VERSION_ID,
    VERSION_PATTERN,
    NodeTypePage,
    VersionDiff,
    WorkflowCreate,
    WorkflowRead,
    WorkflowRunRequest,
    WorkflowUpdate,
    WorkflowVersionRead,
)

router = APIRouter(prefix="/workflows", tags=["workflows"])
ci_router = APIRouter(prefix="/ci", tags=["ci"])


@router.get("", response_model=Page[WorkflowRead], summary="List workflows")
async def list_workflows(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: uuid.UUID | None = None,
) -> Page[WorkflowRead]:
    """Workflows of the caller's projects (or of `project_id`), newest first."""
    data, info = await service.list_workflows(
        db, user_id=principal.user_id, params=page, codec=resources.cursors, project_id=project_id
    )
    return Page(data=data, pagination=info)


@router.post("", status_code=201, response_model=WorkflowRead, summary="Create a workflow")
async def create_workflow(
    body: WorkflowCreate, principal: CurrentPrincipal, db: DbSession
) -> WorkflowRead:
    """A workflow in `project_id` (default: the personal project; editor or owner). The canvas
    is validated: known node types, node settings in range (`retry_count` 0-5, `on_error`
    `fail`/`skip`/`fallback` with a `fallback_value`...), edges between existing nodes and
    handles, exactly one trigger, no cycle; every problem is listed in one 422, each naming
    its node or edge."""
    return await service.create_workflow(db, user_id=principal.user_id, body=body)


@router.get("/node-types", response_model=NodeTypePage, summary="List node types")
async def list_node_types(resources: ResourcesDep, page: PageParamsDep) -> NodeTypePage:
    """Every node type a canvas may use (a documented addition), triggers first: its `name`
    (the node's `data.nodeType`), `category`, `description`, input and output handles (a
    switch adds one output per case, see `outputs_from_config`) and `config_schema`, the JSON
    Schema of its own settings in `data`; `settings_schema` is that of the settings every node
    shares. Saving a canvas validates each node with these same models; a template where a
    field wants a number or a list (`"{{ inputs.limit }}"`) is checked once rendered, at run
    time, unless the field is one of `raw_fields` (kept as written)."""
    return service.list_node_types(params=page, codec=resources.cursors)


@router.get("/{workflow_id}", response_model=WorkflowRead, summary="Get a workflow")
async def get_workflow(
    workflow_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> WorkflowRead:
    return await service.get_workflow(db, user_id=principal.user_id, workflow_id=workflow_id)


@router.put("/{workflow_id}", response_model=WorkflowRead, summary="Update a workflow")
async def update_workflow(
    workflow_id: uuid.UUID, body: WorkflowUpdate, principal: CurrentPrincipal, db: DbSession
) -> WorkflowRead:
    """Change it (editor or owner); fields not sent keep their value. A canvas that differs
    from the current one (by content hash) is validated like at creation and kept as the next
    version."""
    return await service.update_workflow(
        db, user_id=principal.user_id, workflow_id=workflow_id, body=body
    )


@router.delete("/{workflow_id}", status_code=204, summary="Delete a workflow")
async def delete_workflow(
    workflow_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """Delete it and its versions (editor or owner); its runs stay."""
    await service.delete_workflow(db, user_id=principal.user_id, workflow_id=workflow_id)
    return Response(status_code=204)


@router.get(
    "/{workflow_id}/versions",
    response_model=Page[WorkflowVersionRead],
    summary="List a workflow's versions",
)
async def list_versions(
    workflow_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[WorkflowVersionRead]:
    """Every saved canvas of the workflow, newest first, each with its number and content
    hash."""
    data, info = await service.list_versions(
        db,
        user_id=principal.user_id,
        workflow_id=workflow_id,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)


VersionParam = Annotated[str, Path(pattern=VERSION_PATTERN, description=VERSION_ID)]
AgainstParam = Annotated[
    str | None,
    Query(
        pattern=VERSION_PATTERN,
        description=f"{VERSION_ID}; default: the version before `version`",
    ),
]


@router.get(
    "/{workflow_id}/versions/{version}/diff",
    response_model=VersionDiff,
    summary="Compare two versions",
)
async def diff_versions(
    workflow_id: uuid.UUID,
    version: VersionParam,
    principal: CurrentPrincipal,
    db: DbSession,
    against: AgainstParam = None,
) -> VersionDiff:
    """What changed from `against` (`from`) to `version` (`to`), a documented addition: nodes
    and edges `added` and `removed` (as saved), and `changed`, matched by id, with each
    changed key's value `before` and `after` (a node's `data` key by key, `data.template`; the
    other keys whole: `position`, `sourceHandle`...). Compared with nothing (`version` 1, no
    `against`), everything is added and `from` is null."""
    return await service.diff_versions(
        db, user_id=principal.user_id, workflow_id=workflow_id, version=version, against=against
    )


@router.post(
    "/{workflow_id}/run",
    status_code=202,
    response_model=RunRead,
    responses=RUN_EVENTS_RESPONSE,
    summary="Run a workflow",
)
async def run_workflow(
    workflow_id: uuid.UUID,
    body: WorkflowRunRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> RunRead | StreamingResponse:
    """Start a run of the workflow's current version (editor or owner) with `inputs`. It runs
    on a worker; follow it at `GET /runs/{id}` (the trace has one span per node attempt) or
    `/runs/{id}/events`, or ask for the node events here with `Accept: text/event-stream`
    (`step_started` / `step_finished` per node attempt, then `done`, `error`, `cancelled` or
    `approval`). Saving the workflow meanwhile changes nothing for this run.
    `Idempotency-Key`: the same key within 24 hours returns the first run."""
    run = await running.start_run(
        db,
        resources,
        user_id=principal.user_id,
        workflow_id=workflow_id,
        inputs=body.inputs,
        idempotency_key=idempotency_key,
    )
    if SSE_MEDIA_TYPE in request.headers.get("accept", ""):
        return run_events_response(resources, run.id)
    return RunRead.model_validate(run)


@ci_router.post(
    "/workflows/{workflow_id}/run",
    status_code=202,
    response_model=RunRead,
    responses=WAITED_RESPONSE,
    summary="Run a workflow from CI",
)
async def ci_run_workflow(
    workflow_id: uuid.UUID,
    body: WorkflowRunRequest,
    principal: ApiKeyPrincipal,
    resources: ResourcesDep,
    response: Response,
    wait: Wait = False,
    idempotency_key: IdempotencyKey = None,
) -> RunRead:
    """Start a run of the workflow's current version from CI (API keys only; editor or
    owner), as POST /workflows/{id}/run does. Answers 202 with the queued run; with
    `wait=true`, waits until the run ends (at most `ORBITER_RUN_WAIT_SECONDS`, default 30)
    and answers 200 with the finished run, or 202 with the run still going or waiting for an
    approval. Poll it then at `GET /ci/runs/{id}`."""
    run = await start_committed(
        resources,
        lambda db: running.start_run(
            db,
            resources,
            user_id=principal.user_id,
            workflow_id=workflow_id,
            inputs=body.inputs,
            trigger="ci",
            idempotency_key=idempotency_key,
        ),
    )
    return RunRead.model_validate(await waited(resources, run, wait, response))
