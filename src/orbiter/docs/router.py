"""/api/v1/projects/{project_id}/docs: documentation files in a project's workspaces."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.docs import service
from orbiter.docs.schemas import DocContent, DocsListing
from orbiter.runtime.deps import DbSession, ResourcesDep

router = APIRouter(prefix="/projects/{project_id}/docs", tags=["docs"])


@router.get("", response_model=DocsListing, summary="List documentation files")
async def list_docs(
    project_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> DocsListing:
    """Markdown, MDX, text, reStructuredText and AsciiDoc files (and README, CHANGELOG,
    LICENSE... without an extension) in each workspace's current manifest."""
    return await service.list_docs(
        db, user_id=principal.user_id, project_id=project_id, store=resources.blobs
    )


@router.get("/content", response_model=DocContent, summary="Read a documentation file")
async def read_doc(
    project_id: uuid.UUID,
    workspace: Annotated[
        str, Query(min_length=1, max_length=200, description="Workspace id or name")
    ],
    path: Annotated[str, Query(min_length=1, max_length=4096, description="Path in the manifest")],
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> DocContent:
    """One documentation file as text (invalid UTF-8 becomes U+FFFD). Files over
    `ORBITER_MAX_DOC_BYTES` are refused with 413 without being read whole."""
    return await service.read_doc(
        db,
        user_id=principal.user_id,
        project_id=project_id,
        store=resources.blobs,
        workspace=workspace,
        path=path,
        max_bytes=resources.settings.max_doc_bytes,
    )
