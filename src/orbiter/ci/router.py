"""/api/v1/ci: routes for CI jobs, API keys only."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from orbiter.auth.dependencies import ApiKeyPrincipal
from orbiter.ci import service
from orbiter.ci.schemas import WhoAmI
from orbiter.runtime.deps import DbSession, ResourcesDep
from orbiter.snapshots import service as snapshots
from orbiter.snapshots.schemas import SnapshotCreate, SnapshotCreated

router = APIRouter(prefix="/ci", tags=["ci"])


@router.get("/whoami", response_model=WhoAmI, summary="Identify the API key")
async def whoami(principal: ApiKeyPrincipal, db: DbSession) -> WhoAmI:
    """The key's user, name and scopes: a cheap check that CI is configured right."""
    return await service.whoami(db, principal)


@router.post(
    "/projects/{project_id}/snapshots",
    status_code=201,
    response_model=SnapshotCreated,
    responses={200: {"model": SnapshotCreated, "description": "`snapshot_id` already existed"}},
    summary="Register a snapshot from CI",
)
async def register_snapshot(
    project_id: uuid.UUID,
    body: SnapshotCreate,
    principal: ApiKeyPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
) -> SnapshotCreated:
    """Register a snapshot from CI: the body and rules of POST /projects/{id}/snapshots
    (`source` defaults to `ci`)."""
    snapshot, created = await snapshots.create_snapshot(
        db,
        resources.blobs,
        user_id=principal.user_id,
        project_id=project_id,
        body=body,
        default_source="ci",
    )
    if not created:
        response.status_code = 200
    return SnapshotCreated(snapshot=snapshot, created=created)
