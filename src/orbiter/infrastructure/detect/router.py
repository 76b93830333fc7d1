"""/api/v1/infrastructure/projects/{project_id}/detect."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.infrastructure.detect import service
from orbiter.infrastructure.detect.schemas import DetectionRead
from orbiter.runtime.deps import DbSession, ResourcesDep

router = APIRouter(prefix="/infrastructure/projects/{project_id}", tags=["infrastructure"])


@router.get("/detect", response_model=DetectionRead, summary="Detect a project's requirements")
async def detect_requirements(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    manifest_hash: Annotated[
        str | None,
        Query(
            pattern="^[0-9a-f]{64}$",
            description="A manifest the project uses (default: its latest snapshot's)",
        ),
    ] = None,
) -> DetectionRead:
    """What the project needs and how to run it, read from its files (package.json, Python's
    project file and requirements.txt, go.mod, Dockerfile, Procfile, .env.example and the
    source): requirements, suggested resources, every finding with its file and line, and the
    plan a deploy follows. Any member."""
    return await service.detect_for_project(
        db,
        resources,
        user_id=principal.user_id,
        project_id=project_id,
        manifest_hash=manifest_hash,
    )
