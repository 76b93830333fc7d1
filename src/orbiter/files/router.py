"""/api/v1/files: a workspace's working tree (`?workspace_id=`; default: the scratch one)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.files import service
from orbiter.files.schemas import (
    BatchApplied,
    BatchRequest,
    ContentUpdate,
    Deleted,
    FileContent,
    FileCreate,
    FileDelete,
    FileWritten,
    TreeNode,
)
from orbiter.runtime.deps import DbSession, ResourcesDep

router = APIRouter(prefix="/files", tags=["files"])
MAX_QUERY_PATH_CHARS = 4096  # a longer path cannot be valid, and keeps the URL within limits

WorkspaceId = Annotated[
    uuid.UUID | None,
    Query(description="A workspace of one of your projects; default: your scratch workspace"),
]
FilePath = Annotated[
    str, Query(min_length=1, max_length=MAX_QUERY_PATH_CHARS, description="The file's path")
]


def _caller(principal: CurrentPrincipal, workspace_id: uuid.UUID | None) -> service.Caller:
    return service.Caller(user_id=principal.user_id, workspace_id=workspace_id)


@router.get(
    "",
    response_model=list[TreeNode],
    response_model_exclude_none=True,
    summary="Read the working tree",
)
async def read_tree(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    workspace_id: WorkspaceId = None,
) -> list[TreeNode]:
    """The workspace's current manifest as a tree of `{name, path, isDirectory, children}`,
    directories first (viewer or more). Empty for a scratch workspace not written yet."""
    return await service.read_tree(
        db, resources.blobs, user_id=principal.user_id, workspace_id=workspace_id
    )


@router.post("", response_model=FileWritten, summary="Create a file or directory")
async def create_file(
    body: FileCreate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    workspace_id: WorkspaceId = None,
) -> FileWritten:
    """A new file (with `content`) or directory (editor or more): 409 if the path exists.
    Send `base_manifest_hash` to refuse the write (409) if the workspace changed since."""
    return await service.create_file(
        db, resources.blobs, resources.settings, _caller(principal, workspace_id), body
    )


@router.delete("", response_model=Deleted, summary="Delete a file or directory")
async def delete_file(
    body: FileDelete,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    workspace_id: WorkspaceId = None,
) -> Deleted:
    """A file, or a directory with everything below it (editor or more); 404 if nothing is
    there. The previous version stays in the workspace's snapshots."""
    return await service.delete_path(
        db, resources.blobs, resources.settings, _caller(principal, workspace_id), body
    )


@router.get("/content", response_model=FileContent, summary="Read a file")
async def read_content(
    path: FilePath,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    workspace_id: WorkspaceId = None,
) -> FileContent:
    """A file's content (UTF-8 text, else base64) and the `manifest_hash` it was read from,
    the base for a write (viewer or more)."""
    return await service.read_content(
        db,
        resources.blobs,
        resources.settings,
        user_id=principal.user_id,
        workspace_id=workspace_id,
        path=path,
    )


@router.post("/content", response_model=FileWritten, summary="Write a file's content")
async def update_content(
    body: ContentUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    workspace_id: WorkspaceId = None,
) -> FileWritten:
    """Replace an existing file's content (editor or more); 404 if there is no such file."""
    return await service.update_content(
        db, resources.blobs, resources.settings, _caller(principal, workspace_id), body
    )


@router.post("/batch", response_model=BatchApplied, summary="Apply several changes at once")
async def apply_batch(
    body: BatchRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    workspace_id: WorkspaceId = None,
) -> BatchApplied:
    """`create`, `update`, `delete` and `move` operations, in order, as one new version: all
    of them or (on the first that fails, named by `details.operation`) none."""
    return await service.apply_batch(
        db, resources.blobs, resources.settings, _caller(principal, workspace_id), body
    )
