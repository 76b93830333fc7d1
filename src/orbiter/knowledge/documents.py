"""Documents: upload (stored by hash, indexed by a job sent after commit), list, read, delete.

A file's type comes from its name's extension, else its declared content type; anything else
is 415. The same bytes uploaded again to the same knowledge base are the same document (the
answer is that document; a `failed` one is queued to be indexed again).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import delete_one
from orbiter.core.errors import NotFound, UnsupportedMediaType
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.schemas import has_control_characters
from orbiter.knowledge import jobs
from orbiter.knowledge.originals import Upload, store_original
from orbiter.knowledge.schemas import DocumentDetail, DocumentRead, DocumentStatus
from orbiter.knowledge.service import load_knowledge_base
from orbiter.models import Document, Role
from orbiter.queue import after_commit
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project_row, member_project_ids

EXTENSIONS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".csv": "csv",
    ".pdf": "pdf",
}
MEDIA_TYPES = {
    "text/plain": "txt",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "text/html": "html",
    "application/json": "json",
    "text/csv": "csv",
    "application/pdf": "pdf",
}
CANONICAL_MEDIA_TYPE = {kind: media for media, kind in reversed(MEDIA_TYPES.items())}
MAX_NAME = 300


@dataclass(frozen=True)
class Uploaded:
    document: DocumentRead
    created: bool  # False: the same bytes were already a document of this knowledge base


def file_type(filename: str | None, content_type: str | None) -> str:
    suffix = PurePosixPath(filename or "").suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    media = (content_type or "").split(";")[0].strip().lower()
    if media in MEDIA_TYPES:
        return MEDIA_TYPES[media]
    raise UnsupportedMediaType(
        "Upload a txt, md, html, json, csv or pdf file (by its extension or content type)",
        details={"filename": filename, "content_type": content_type},
    )


def document_name(filename: str | None, kind: str) -> str:
    """The file's base name without control characters (NUL...), else `document.<type>`."""
    base = PurePosixPath((filename or "").replace("\\", "/")).name
    cleaned = "".join(c for c in base if not has_control_characters(c)).strip()
    return cleaned[:MAX_NAME] or f"document.{kind}"


def document_read(row: Document) -> DocumentRead:
    return DocumentRead.model_validate(row, from_attributes=True)


async def load_document(
    db: AsyncSession, *, user_id: uuid.UUID, document_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> Document:
    return await load_project_row(
        db, Document, document_id, user_id=user_id, min_role=min_role, label="Document"
    )


async def upload_document(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    kb_id: uuid.UUID,
    upload: Upload,
    content_type: str | None,
) -> Uploaded:
    kb = await load_knowledge_base(db, user_id=user_id, kb_id=kb_id, min_role=Role.EDITOR)
    kind = file_type(upload.filename, content_type)
    stored = await store_original(
        resources.blobs, upload, max_bytes=resources.settings.max_document_bytes
    )
    existing = await db.scalar(
        select(Document).where(
            Document.knowledge_base_id == kb.id, Document.content_hash == stored.hash
        )
    )
    if existing is not None:
        if existing.status == "failed":
            existing.status, existing.error, existing.attempts = "pending", None, 0
            await db.flush()
            after_commit(db, jobs.index_job(existing.id))
        return Uploaded(document_read(existing), created=False)
    row = Document(
        knowledge_base_id=kb.id,
        project_id=kb.project_id,
        created_by=user_id,
        name=document_name(upload.filename, kind),
        file_type=kind,
        content_type=CANONICAL_MEDIA_TYPE[kind],
        size=stored.size,
        content_hash=stored.hash,
        status="pending",
        chunks_total=0,
        chunks_done=0,
        attempts=0,
    )
    db.add(row)
    await db.flush()
    after_commit(db, jobs.index_job(row.id))
    return Uploaded(document_read(row), created=True)


async def list_documents(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    kb_id: uuid.UUID | None = None,
    status: DocumentStatus | None = None,
) -> tuple[list[DocumentRead], PageInfo]:
    """Documents of one knowledge base, or of every one the caller can see; newest first."""
    if kb_id is not None:
        kb = await load_knowledge_base(db, user_id=user_id, kb_id=kb_id)
        stmt = select(Document).where(Document.knowledge_base_id == kb.id)
    else:
        stmt = select(Document).where(Document.project_id.in_(member_project_ids(user_id)))
    if status is not None:
        stmt = stmt.where(Document.status == status)
    rows, info = await paginate(
        db, stmt, order=[Document.created_at, Document.id], params=params, codec=codec
    )
    return [document_read(row[0]) for row in rows], info


async def get_document(
    db: AsyncSession, *, user_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentDetail:
    row = await load_document(db, user_id=user_id, document_id=document_id)
    return DocumentDetail.model_validate(row, from_attributes=True)


async def delete_document(
    db: AsyncSession, *, user_id: uuid.UUID, kb_id: uuid.UUID, document_id: uuid.UUID
) -> str:
    """Delete it and its chunks (vectors with them); returns its content hash."""
    row = await load_document(db, user_id=user_id, document_id=document_id, min_role=Role.EDITOR)
    if row.knowledge_base_id != kb_id:
        raise NotFound("Document not found")
    await delete_one(
        db, delete(Document).where(Document.id == row.id), missing="Document not found"
    )
    return row.content_hash
