"""Knowledge bases: CRUD, with document counts, and querying one. A knowledge base belongs to
a project: members read and query it, editors and owners change it and its documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import delete_one
from orbiter.core.errors import ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.knowledge import jobs
from orbiter.knowledge.embeddings import embedder_for
from orbiter.knowledge.schemas import (
    DocumentCounts,
    KnowledgeBaseCreate,
    KnowledgeBaseRead,
    KnowledgeBaseStatus,
    KnowledgeBaseUpdate,
    QueryRequest,
    SearchResponse,
)
from orbiter.knowledge.search import search
from orbiter.models import Document, KnowledgeBase, KnowledgeChunk, Role
from orbiter.queue import after_commit
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project, load_project_row, member_project_ids
from orbiter.tenancy.events import record_event
from orbiter.tenancy.projects import project_or_personal

STATUSES = ("pending", "processing", "ready", "failed")


async def load_knowledge_base(
    db: AsyncSession, *, user_id: uuid.UUID, kb_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> KnowledgeBase:
    return await load_project_row(
        db, KnowledgeBase, kb_id, user_id=user_id, min_role=min_role, label="Knowledge base"
    )


async def _counts(
    db: AsyncSession, kb_ids: Sequence[uuid.UUID]
) -> tuple[dict[uuid.UUID, dict[str, int]], dict[uuid.UUID, int]]:
    """Documents per status and chunks, per knowledge base."""
    documents: dict[uuid.UUID, dict[str, int]] = {kb_id: {} for kb_id in kb_ids}
    if not kb_ids:
        return documents, {}
    rows = await db.execute(
        select(Document.knowledge_base_id, Document.status, func.count())
        .where(Document.knowledge_base_id.in_(kb_ids))
        .group_by(Document.knowledge_base_id, Document.status)
    )
    for kb_id, status, count in rows:
        documents[kb_id][status] = count
    chunks = await db.execute(
        select(KnowledgeChunk.knowledge_base_id, func.count())
        .where(KnowledgeChunk.knowledge_base_id.in_(kb_ids))
        .group_by(KnowledgeChunk.knowledge_base_id)
    )
    return documents, {kb_id: count for kb_id, count in chunks}


def _read(row: KnowledgeBase, by_status: dict[str, int], chunks: int) -> KnowledgeBaseRead:
    counts = DocumentCounts(
        total=sum(by_status.values()), **{s: by_status.get(s, 0) for s in STATUSES}
    )
    status: KnowledgeBaseStatus = "ready"
    if not counts.total:
        status = "empty"
    elif counts.pending + counts.processing:
        status = "indexing"
    return KnowledgeBaseRead(
        id=row.id,
        project_id=row.project_id,
        created_by=row.created_by,
        name=row.name,
        description=row.description,
        chunk_size=row.chunk_size,
        chunk_overlap=row.chunk_overlap,
        status=status,
        documents=counts,
        chunk_count=chunks,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def knowledge_base_read(db: AsyncSession, row: KnowledgeBase) -> KnowledgeBaseRead:
    documents, chunks = await _counts(db, [row.id])
    return _read(row, documents[row.id], chunks.get(row.id, 0))


async def list_knowledge_bases(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    project_id: uuid.UUID | None = None,
) -> tuple[list[KnowledgeBaseRead], PageInfo]:
    """Knowledge bases of the caller's projects (or of one), newest first."""
    stmt = select(KnowledgeBase).where(KnowledgeBase.project_id.in_(member_project_ids(user_id)))
    if project_id is not None:
        await load_project(db, user_id=user_id, project_id=project_id)
        stmt = stmt.where(KnowledgeBase.project_id == project_id)
    rows, info = await paginate(
        db, stmt, order=[KnowledgeBase.created_at, KnowledgeBase.id], params=params, codec=codec
    )
    bases = [row[0] for row in rows]
    documents, chunks = await _counts(db, [kb.id for kb in bases])
    return [_read(kb, documents[kb.id], chunks.get(kb.id, 0)) for kb in bases], info


async def create_knowledge_base(
    db: AsyncSession, *, user_id: uuid.UUID, body: KnowledgeBaseCreate
) -> KnowledgeBaseRead:
    project_id = await project_or_personal(db, user_id=user_id, project_id=body.project_id)
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    row = KnowledgeBase(
        project_id=project_id,
        created_by=user_id,
        **body.model_dump(include={"name", "description", "chunk_size", "chunk_overlap"}),
    )
    db.add(row)
    await db.flush()
    await _event(db, row, user_id, "knowledge_base.created")
    return _read(row, {}, 0)


async def get_knowledge_base(
    db: AsyncSession, *, user_id: uuid.UUID, kb_id: uuid.UUID
) -> KnowledgeBaseRead:
    return await knowledge_base_read(
        db, await load_knowledge_base(db, user_id=user_id, kb_id=kb_id)
    )


async def update_knowledge_base(
    db: AsyncSession, *, user_id: uuid.UUID, kb_id: uuid.UUID, body: KnowledgeBaseUpdate
) -> KnowledgeBaseRead:
    """Change it; new chunk settings send every document to be indexed again."""
    row = await load_knowledge_base(db, user_id=user_id, kb_id=kb_id, min_role=Role.EDITOR)
    sent = body.model_dump(exclude_unset=True)
    size, overlap = (
        sent.get("chunk_size", row.chunk_size),
        sent.get("chunk_overlap", row.chunk_overlap),
    )
    if overlap * 2 > size:
        raise ValidationFailed.for_field(
            "chunk_overlap", f"chunk_overlap must be at most half of chunk_size ({size})"
        )
    rechunk = (size, overlap) != (row.chunk_size, row.chunk_overlap)
    for name, value in sent.items():
        setattr(row, name, value)
    await db.flush()
    if rechunk:
        await reindex_all(db, row.id)
    await db.refresh(row)
    return await knowledge_base_read(db, row)


async def reindex_all(db: AsyncSession, kb_id: uuid.UUID) -> None:
    """Every document of the knowledge base back to `pending`, its job sent after commit."""
    ids = (
        await db.scalars(
            update(Document)
            .where(Document.knowledge_base_id == kb_id, Document.status != "processing")
            .values(status="pending", error=None, attempts=0)
            .returning(Document.id)
        )
    ).all()
    for document_id in ids:
        after_commit(db, jobs.index_job(document_id))


async def delete_knowledge_base(
    db: AsyncSession, *, user_id: uuid.UUID, kb_id: uuid.UUID
) -> set[str]:
    """Delete it with its documents and their chunks; returns the documents' content hashes
    (their originals go once no other document names them)."""
    row = await load_knowledge_base(db, user_id=user_id, kb_id=kb_id, min_role=Role.EDITOR)
    hashes = set(
        (
            await db.scalars(
                select(Document.content_hash).where(Document.knowledge_base_id == row.id)
            )
        ).all()
    )
    await delete_one(
        db,
        delete(KnowledgeBase).where(KnowledgeBase.id == row.id),
        missing="Knowledge base not found",
    )
    await _event(db, row, user_id, "knowledge_base.deleted")
    return hashes


async def _event(db: AsyncSession, row: KnowledgeBase, user_id: uuid.UUID, type_: str) -> None:
    data: dict[str, Any] = {"knowledge_base_id": str(row.id), "name": row.name}
    await record_event(db, project_id=row.project_id, actor_id=user_id, type=type_, data=data)


# ---------------------------------------------------------------- search


async def query_knowledge_base(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    kb_id: uuid.UUID,
    body: QueryRequest,
) -> SearchResponse:
    row = await load_knowledge_base(db, user_id=user_id, kb_id=kb_id)
    embedder = await embedder_for(db, resources, user_id)
    return await search(
        resources.engine, kb_ids=[row.id], query=body.query, top_k=body.top_k, embedder=embedder
    )


async def search_visible(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, q: str, top_k: int
) -> SearchResponse:
    """Across every knowledge base of the caller's projects."""
    kb_ids = (
        await db.scalars(
            select(KnowledgeBase.id).where(
                KnowledgeBase.project_id.in_(member_project_ids(user_id))
            )
        )
    ).all()
    embedder = await embedder_for(db, resources, user_id)
    return await search(resources.engine, kb_ids=kb_ids, query=q, top_k=top_k, embedder=embedder)


async def search_for_run(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID | None,
    project_id: uuid.UUID,
    kb_ids: Sequence[uuid.UUID] | None,
    query: str,
    top_k: int,
) -> SearchResponse:
    """What a run (the knowledge_search tool, the knowledge_retrieval node) finds in the named
    knowledge bases of its project (None: all of them); others are ignored. The vectors are
    the run's user's."""
    stmt = select(KnowledgeBase.id).where(KnowledgeBase.project_id == project_id)
    if kb_ids is not None:
        stmt = stmt.where(KnowledgeBase.id.in_(kb_ids))
    found = (await db.scalars(stmt)).all()
    embedder = await embedder_for(db, resources, user_id)
    return await search(resources.engine, kb_ids=found, query=query, top_k=top_k, embedder=embedder)
