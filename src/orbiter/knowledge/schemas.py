"""Knowledge bases, documents and search: what callers send and what they get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from orbiter.core.schemas import Name, RequestModel

KnowledgeBaseName = Annotated[Name, Field(min_length=1, max_length=200)]
ChunkSize = Annotated[
    int, Field(ge=32, le=8192, description="Most tokens (o200k_base) a chunk has")
]
ChunkOverlap = Annotated[
    int, Field(ge=0, le=4096, description="Most tokens a chunk repeats from the one before")
]
DEFAULT_CHUNK_SIZE = 512
DEFAULT_CHUNK_OVERLAP = 64
MAX_QUERY_CHARS = 2000
MAX_TOP_K = 50
DocumentStatus = Literal["pending", "processing", "ready", "failed"]
Method = Literal["vector", "text", "hybrid"]
KnowledgeBaseStatus = Literal["empty", "indexing", "ready"]


def _check_overlap(size: int | None, overlap: int | None) -> None:
    if size is not None and overlap is not None and overlap * 2 > size:
        raise ValueError("chunk_overlap must be at most half of chunk_size")


class KnowledgeBaseCreate(RequestModel):
    project_id: uuid.UUID | None = Field(
        default=None, description="Default: the caller's personal project"
    )
    name: KnowledgeBaseName
    description: str | None = Field(default=None, max_length=2000)
    chunk_size: ChunkSize = DEFAULT_CHUNK_SIZE
    chunk_overlap: ChunkOverlap = DEFAULT_CHUNK_OVERLAP

    @model_validator(mode="after")
    def _overlap_fits(self) -> KnowledgeBaseCreate:
        _check_overlap(self.chunk_size, self.chunk_overlap)
        return self


class KnowledgeBaseUpdate(RequestModel):
    """Fields not sent keep their value. A new `chunk_size` or `chunk_overlap` indexes every
    document again in the background."""

    name: KnowledgeBaseName | None = None
    description: str | None = Field(default=None, max_length=2000)
    chunk_size: ChunkSize | None = None
    chunk_overlap: ChunkOverlap | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> KnowledgeBaseUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of name, description, chunk_size, chunk_overlap")
        for name in ("name", "chunk_size", "chunk_overlap"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class DocumentCounts(BaseModel):
    total: int
    pending: int
    processing: int
    ready: int
    failed: int


class KnowledgeBaseRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    created_by: uuid.UUID | None
    name: str
    description: str | None
    chunk_size: int
    chunk_overlap: int
    status: KnowledgeBaseStatus = Field(
        description="empty: no documents; indexing: some are pending or processing; ready"
    )
    documents: DocumentCounts
    chunk_count: int
    created_at: datetime
    updated_at: datetime


class DocumentRead(BaseModel):
    id: uuid.UUID
    knowledge_base_id: uuid.UUID
    project_id: uuid.UUID
    created_by: uuid.UUID | None
    name: str
    file_type: str = Field(description="txt, md, html, json, csv or pdf")
    content_type: str
    size: int = Field(description="Bytes of the original file")
    content_hash: str = Field(description="SHA-256 of the original (its blob store address)")
    status: DocumentStatus
    error: str | None = Field(description="Why indexing failed (status failed)")
    chunks_total: int = Field(description="Chunks the text was split into (0 until known)")
    chunks_done: int = Field(description="Chunks indexed so far")
    embedding_model: str | None = Field(description="The model its chunks' vectors are from")
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None


class DocumentDetail(DocumentRead):
    text: str | None = Field(description="The extracted text (null until indexed)")


class QueryRequest(RequestModel):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: int = Field(default=5, ge=1, le=MAX_TOP_K)


class SearchResult(BaseModel):
    chunk_id: int
    score: float = Field(
        description="Higher is better; by method: cosine similarity (vector), ts_rank_cd or "
        "negated bm25 (text), reciprocal rank fusion (hybrid)"
    )
    text: str
    position: int = Field(description="The chunk's place in its document, from 0")
    document_id: uuid.UUID
    document_name: str
    knowledge_base_id: uuid.UUID


class SearchResponse(BaseModel):
    method: Method = Field(
        description="vector: by embeddings only; text: full-text only (no embeddings, or none "
        "for the caller's embedding model); hybrid: both, fused by reciprocal rank"
    )
    query: str
    results: list[SearchResult]
