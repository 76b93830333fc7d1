"""The atlas: what callers send and get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from orbiter.core.schemas import RequestModel

DiagramType = Literal["flow", "dependency", "component", "sequence"]


class ConceptRead(BaseModel):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    layer: str = Field(description="system, module, class, function, type or external")
    name: str
    path: str | None
    language: str | None
    line: int | None
    exported: bool
    description: str
    embedding_model: str | None = Field(description="The model that embedded its text, if any")
    embedding_dimensions: int | None


class EdgeRead(BaseModel):
    id: uuid.UUID
    source_id: uuid.UUID
    target_id: uuid.UUID
    kind: str = Field(description="contains or imports")
    label: str = Field(description="For imports: the names imported, comma-separated")


class AtlasRead(BaseModel):
    concepts: list[ConceptRead]
    edges: list[EdgeRead]
    snapshot_id: uuid.UUID | None = Field(description="The snapshot last indexed")
    indexed_at: datetime | None
    truncated: bool = Field(description="True when the graph had more rows than returned")


class SkippedFile(BaseModel):
    path: str
    reason: str


class IndexResult(BaseModel):
    concepts_created: int
    edges_created: int
    embeddings_created: int = Field(
        description="Concepts whose text was embedded (with `embed=true`; else 0)"
    )
    snapshot_id: uuid.UUID
    manifest_hash: str
    files_parsed: int
    files_skipped: list[SkippedFile] = Field(
        description="Source files not parsed: too large, over the file limit, or unreadable"
    )
    parse_errors: list[SkippedFile] = Field(
        description="Files with syntax errors (Python: not indexed; tree-sitter: partly)"
    )


class AtlasSearch(RequestModel):
    query: str = Field(min_length=1, max_length=500)
    limit: int = Field(default=20, ge=1, le=100)


class AtlasSearchHit(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    layer: str
    path: str | None
    score: float = Field(description="The text score; with `hybrid`, the fused score")


class AtlasSearchResults(BaseModel):
    method: Literal["text", "hybrid"] = Field(
        description="`hybrid`: text and vector rankings fused (reciprocal rank), when the "
        "caller's embedding model embedded the concepts; else `text`"
    )
    results: list[AtlasSearchHit]


class DiagramCreate(RequestModel):
    type: DiagramType
    concept_id: uuid.UUID | None = Field(
        default=None, description="Centre the diagram on this concept; the whole project if null"
    )


class DiagramNode(BaseModel):
    id: str
    label: str
    layer: str
    group: str | None = None


class DiagramEdge(BaseModel):
    source: str
    target: str
    label: str = ""


class DiagramRead(BaseModel):
    id: uuid.UUID
    type: DiagramType
    title: str
    concept_id: uuid.UUID | None
    nodes: list[DiagramNode]
    edges: list[DiagramEdge]
    mermaid: str = Field(description="The same diagram as Mermaid text")
    created_at: datetime


class DiagramEnvelope(BaseModel):
    diagram: DiagramRead
