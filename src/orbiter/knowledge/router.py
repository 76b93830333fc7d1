"""/api/v1/knowledge-bases and /api/v1/documents: knowledge bases, their documents, search."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, File, Query, Request, Response, UploadFile

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.blobs.responses import object_response
from orbiter.core.pagination import Page
from orbiter.knowledge import documents, service
from orbiter.knowledge.originals import original_key, release_unused
from orbiter.knowledge.schemas import (
    MAX_QUERY_CHARS,
    MAX_TOP_K,
    DocumentDetail,
    DocumentRead,
    DocumentStatus,
    KnowledgeBaseCreate,
    KnowledgeBaseRead,
    KnowledgeBaseUpdate,
    QueryRequest,
    SearchResponse,
)
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/knowledge-bases", tags=["knowledge"])
documents_router = APIRouter(prefix="/documents", tags=["knowledge"])


@router.get("", response_model=Page[KnowledgeBaseRead], summary="List knowledge bases")
async def list_knowledge_bases(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: uuid.UUID | None = None,
) -> Page[KnowledgeBaseRead]:
    """Knowledge bases of the caller's projects (or of `project_id`), newest first."""
    data, info = await service.list_knowledge_bases(
        db, user_id=principal.user_id, params=page, codec=resources.cursors, project_id=project_id
    )
    return Page(data=data, pagination=info)


@router.post("", status_code=201, response_model=KnowledgeBaseRead, summary="Create one")
async def create_knowledge_base(
    body: KnowledgeBaseCreate, principal: CurrentPrincipal, db: DbSession
) -> KnowledgeBaseRead:
    """A knowledge base in `project_id` (default: the personal project; editor or owner).
    Documents are split into chunks of `chunk_size` tokens overlapping by `chunk_overlap`."""
    return await service.create_knowledge_base(db, user_id=principal.user_id, body=body)


@router.get("/{kb_id}", response_model=KnowledgeBaseRead, summary="Get a knowledge base")
async def get_knowledge_base(
    kb_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> KnowledgeBaseRead:
    """With its documents counted by status, its chunks, and `status`."""
    return await service.get_knowledge_base(db, user_id=principal.user_id, kb_id=kb_id)


@router.put("/{kb_id}", response_model=KnowledgeBaseRead, summary="Update a knowledge base")
async def update_knowledge_base(
    kb_id: uuid.UUID, body: KnowledgeBaseUpdate, principal: CurrentPrincipal, db: DbSession
) -> KnowledgeBaseRead:
    """Change it (editor or owner). New chunk settings index every document again."""
    return await service.update_knowledge_base(
        db, user_id=principal.user_id, kb_id=kb_id, body=body
    )


@router.delete("/{kb_id}", status_code=204, summary="Delete a knowledge base")
async def delete_knowledge_base(
    kb_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> Response:
    """Delete it with its documents, their chunks and vectors (editor or owner)."""
    hashes = await service.delete_knowledge_base(db, user_id=principal.user_id, kb_id=kb_id)
    background.add_task(release_unused, resources.sessionmaker, resources.blobs, hashes)
    return Response(status_code=204)


@router.post(
    "/{kb_id}/documents",
    status_code=202,
    response_model=DocumentRead,
    responses={200: {"model": DocumentRead, "description": "The same bytes were there already"}},
    summary="Upload a document",
)
async def upload_document(
    kb_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="A txt, md, html, json, csv or pdf file")],
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
) -> DocumentRead:
    """Multipart upload (editor or owner): 202 with the document `pending`; a job extracts its
    text, splits and indexes it (`pending` → `processing` → `ready` or `failed` with `error`;
    `chunks_done` / `chunks_total` show progress). The same bytes again in this knowledge
    base: 200 with the existing document. 413 over ORBITER_MAX_DOCUMENT_BYTES, 415 for other
    types."""
    uploaded = await documents.upload_document(
        db,
        resources,
        user_id=principal.user_id,
        kb_id=kb_id,
        upload=file,
        content_type=file.content_type,
    )
    if not uploaded.created:
        response.status_code = 200
    return uploaded.document


@router.get("/{kb_id}/documents", response_model=Page[DocumentRead], summary="List its documents")
async def list_kb_documents(
    kb_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    status: DocumentStatus | None = None,
) -> Page[DocumentRead]:
    """Its documents with their processing status, newest first."""
    data, info = await documents.list_documents(
        db,
        user_id=principal.user_id,
        params=page,
        codec=resources.cursors,
        kb_id=kb_id,
        status=status,
    )
    return Page(data=data, pagination=info)


@router.delete("/{kb_id}/documents/{document_id}", status_code=204, summary="Delete a document")
async def delete_document(
    kb_id: uuid.UUID,
    document_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> Response:
    """Delete it with its chunks and vectors (editor or owner)."""
    hash_ = await documents.delete_document(
        db, user_id=principal.user_id, kb_id=kb_id, document_id=document_id
    )
    background.add_task(release_unused, resources.sessionmaker, resources.blobs, {hash_})
    return Response(status_code=204)


@router.post("/{kb_id}/query", response_model=SearchResponse, summary="Query a knowledge base")
async def query_knowledge_base(
    kb_id: uuid.UUID,
    body: QueryRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> SearchResponse:
    """The `top_k` chunks that best answer `query`, best first, and which `method` ranked
    them: full-text (`text`), or fused with vector similarity (`hybrid`) when the caller's
    embedding model has embedded documents here. The query is plain words: quotes, `*`,
    `:`, `-`, `AND`, `OR`... are never query syntax."""
    return await service.query_knowledge_base(
        db, resources, user_id=principal.user_id, kb_id=kb_id, body=body
    )


# ---------------------------------------------------------------- /documents


@documents_router.get("", response_model=Page[DocumentRead], summary="List your documents")
async def list_documents(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    status: DocumentStatus | None = None,
) -> Page[DocumentRead]:
    """Documents of every knowledge base the caller can see, newest first."""
    data, info = await documents.list_documents(
        db, user_id=principal.user_id, params=page, codec=resources.cursors, status=status
    )
    return Page(data=data, pagination=info)


@documents_router.get("/search", response_model=SearchResponse, summary="Search documents")
async def search_documents(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K)] = 10,
) -> SearchResponse:
    """Chunks of every knowledge base the caller can see that best answer `q`; `method` as
    for `POST /knowledge-bases/{id}/query`."""
    return await service.search_visible(db, resources, user_id=principal.user_id, q=q, top_k=top_k)


@documents_router.get("/{document_id}", response_model=DocumentDetail, summary="Get a document")
async def get_document(
    document_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> DocumentDetail:
    """Its metadata and extracted text."""
    return await documents.get_document(db, user_id=principal.user_id, document_id=document_id)


@documents_router.get(
    "/{document_id}/download",
    response_class=Response,
    responses={
        200: {"description": "The original file", "content": {"application/octet-stream": {}}},
        206: {
            "description": "The requested byte range",
            "content": {"application/octet-stream": {}},
        },
        304: {"description": "Not modified (If-None-Match)"},
        416: {"description": "Range not satisfiable (RANGE_NOT_SATISFIABLE)"},
    },
    summary="Download a document's original",
)
async def download_document(
    document_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    request: Request,
) -> Response:
    """The file as uploaded (ranges and `If-None-Match` work as for blobs)."""
    row = await documents.load_document(db, user_id=principal.user_id, document_id=document_id)
    answer = await object_response(
        request,
        resources.blobs,
        key=original_key(row.content_hash),
        hash_=row.content_hash,
        size=row.size,
        media_type=row.content_type,
    )
    answer.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(row.name)}"
    return answer
