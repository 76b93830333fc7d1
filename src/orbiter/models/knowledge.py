"""Knowledge bases, their documents, and the chunks a document is indexed as.

A knowledge base belongs to a project. A document's original bytes are in the blob store
under their SHA-256 (`orbiter.knowledge.originals`), so the same file is stored once; the row
holds the extracted text, the indexing status and progress. Chunks carry the full-text index
(PostgreSQL: a generated `tsv` column, `to_tsvector('english', text)`, with a GIN index,
migration 0027; SQLite: the FTS5 table `knowledge_chunks_fts`, migration 0013; both outside
the ORM) and, when an embedding
model was configured, the chunk's vector as float32 bytes with its model and length.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, IdMixin, TimestampMixin, one_of

DOCUMENT_STATUSES = ("pending", "processing", "ready", "failed")
DOCUMENT_TYPES = ("txt", "md", "html", "json", "csv", "pdf")


class KnowledgeBase(IdMixin, TimestampMixin, Base):
    __tablename__ = "knowledge_bases"
    __table_args__ = (Index("ix_knowledge_bases_created_at_id", "created_at", "id"),)

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    chunk_size: Mapped[int] = mapped_column(Integer)  # tokens
    chunk_overlap: Mapped[int] = mapped_column(Integer)  # tokens
    # Bumped by triggers (migration 0027) whenever what vector search reads here may change.
    chunks_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Document(IdMixin, TimestampMixin, Base):
    """One uploaded file. `project_id` is its knowledge base's, kept for the membership scope."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint(
            "knowledge_base_id", "content_hash", name="uq_documents_knowledge_base_id_content_hash"
        ),
        Index("ix_documents_created_at_id", "created_at", "id"),
        Index("ix_documents_status_updated_at", "status", "updated_at"),
        one_of("status", DOCUMENT_STATUSES),
        one_of("file_type", DOCUMENT_TYPES),
    )

    knowledge_base_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_bases.id", ondelete="CASCADE")
    )
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(300))
    file_type: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processing_started_at: Mapped[datetime | None]
    indexed_at: Mapped[datetime | None]


class KnowledgeChunk(Base):
    """One piece of a document's text; `id` is the FTS5 rowid on SQLite."""

    __tablename__ = "knowledge_chunks"
    __table_args__ = (
        UniqueConstraint(
            "document_id", "position", name="uq_knowledge_chunks_document_id_position"
        ),
        Index(
            "ix_knowledge_chunks_knowledge_base_id_embedding_model",
            "knowledge_base_id",
            "embedding_model",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    knowledge_base_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_bases.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)  # 0, 1, ... in the document
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)  # float32, unit length
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    embedding_dimensions: Mapped[int | None] = mapped_column(Integer)
