"""/api/v1/projects/{project_id}/atlas: the code graph, its index, search and diagrams."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from orbiter.atlas import diagrams, indexing, service
from orbiter.atlas.schemas import (
    AtlasRead,
    AtlasSearch,
    AtlasSearchResults,
    DiagramCreate,
    DiagramEnvelope,
    DiagramRead,
    IndexResult,
)
from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

EMBED = "Also embed each concept's text with your default provider's embedding model"

router = APIRouter(prefix="/projects/{project_id}/atlas", tags=["atlas"])


@router.get("", response_model=AtlasRead, summary="Get the atlas graph")
async def get_atlas(project_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> AtlasRead:
    """Every concept and edge of the last index (`truncated` when over the size returned)."""
    return await service.read_atlas(db, user_id=principal.user_id, project_id=project_id)


@router.post("/index", response_model=IndexResult, summary="Rebuild the atlas")
async def index_atlas(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    embed: Annotated[bool, Query(description=EMBED)] = False,
) -> IndexResult:
    """Parse the source files of the project's latest snapshot (Python with `ast`;
    JavaScript, TypeScript and Go with tree-sitter) into systems, modules, classes,
    functions, types and import edges, replacing the previous graph in one transaction.
    Files over `ORBITER_ATLAS_MAX_FILE_BYTES`, past `ORBITER_ATLAS_MAX_FILES`, or in
    dependency and build folders are not parsed (the first two are listed in
    `files_skipped`). With `embed=true`, each concept's text is embedded by the caller's
    embedding model (`embeddings_created`; none configured: 422). Editors and owners."""
    return await indexing.index_atlas(
        db, resources, user_id=principal.user_id, project_id=project_id, embed=embed
    )


@router.post("/search", response_model=AtlasSearchResults, summary="Search the atlas")
async def search_atlas(
    project_id: uuid.UUID,
    body: AtlasSearch,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> AtlasSearchResults:
    """Concepts ranked by how well their name (split into words: `UserStore` is `user
    store`), path and description match the query, best first; `hybrid` (fused by reciprocal
    rank with the concepts' vector ranking) when the caller's embedding model embedded them."""
    return await service.search_atlas(
        db,
        resources,
        user_id=principal.user_id,
        project_id=project_id,
        query=body.query,
        limit=body.limit,
    )


@router.get("/diagrams", response_model=Page[DiagramRead], summary="List stored diagrams")
async def list_diagrams(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[DiagramRead]:
    """Newest first."""
    data, info = await diagrams.list_diagrams(
        db, user_id=principal.user_id, project_id=project_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.post(
    "/diagrams", status_code=201, response_model=DiagramEnvelope, summary="Build a diagram"
)
async def create_diagram(
    project_id: uuid.UUID, body: DiagramCreate, principal: CurrentPrincipal, db: DbSession
) -> DiagramEnvelope:
    """A `component`, `dependency`, `flow` or `sequence` diagram built from the atlas graph
    (around `concept_id`, or the whole project), stored with its Mermaid text. Editors and
    owners."""
    return await diagrams.create_diagram(
        db, user_id=principal.user_id, project_id=project_id, body=body
    )
