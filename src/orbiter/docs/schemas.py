"""A project's documentation files, found in its workspaces' current manifests."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class DocFile(BaseModel):
    path: str
    size: int = Field(description="Bytes, as the manifest records it")
    hash: str = Field(description="SHA-256 of the content (the blob's id)")


class WorkspaceDocs(BaseModel):
    workspace_id: uuid.UUID
    workspace_name: str
    manifest_hash: str | None = Field(description="The manifest scanned; null when none is set")
    files: list[DocFile] = Field(description="Documentation files by path")


class DocsListing(BaseModel):
    workspaces: list[WorkspaceDocs] = Field(description="Every workspace, oldest first")
    total_files: int


class DocContent(BaseModel):
    content: str = Field(description="UTF-8 text; invalid bytes become U+FFFD")
    path: str
    workspace_id: uuid.UUID
    workspace_name: str
    size: int = Field(description="Bytes read from the blob store")
