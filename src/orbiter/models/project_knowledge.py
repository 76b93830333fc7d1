"""What Orbiter knows about a project: its brief, suggested next steps, decisions taken in its
conversations, and the atlas (a graph of its code built from the latest snapshot)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.core.time import utcnow
from orbiter.models.base import Base, CreatedAtMixin, IdMixin, TimestampMixin, one_of

NEXT_STEP_STATUSES = ("pending", "started", "completed", "dismissed")
NEXT_STEP_PRIORITIES = ("high", "medium", "low")
CONCEPT_LAYERS = ("system", "module", "class", "function", "type", "external")
EDGE_KINDS = ("contains", "imports")
DIAGRAM_TYPES = ("flow", "dependency", "component", "sequence")


class ProjectBrief(TimestampMixin, Base):
    """A project's intent (why it exists) and brief (what it is), one row per project."""

    __tablename__ = "project_briefs"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    intent: Mapped[str | None] = mapped_column(Text)
    brief: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class NextStep(IdMixin, TimestampMixin, Base):
    __tablename__ = "next_steps"
    __table_args__ = (
        Index("ix_next_steps_project_id_created_at_id", "project_id", "created_at", "id"),
        one_of("status", NEXT_STEP_STATUSES),
        one_of("priority", NEXT_STEP_PRIORITIES),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    rationale: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    helpful: Mapped[bool | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class Decision(IdMixin, TimestampMixin, Base):
    """A decision found in the project's conversations; `key` is its normalized title, unique
    per project, so extracting again never adds the same decision twice."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("project_id", "key", name="uq_decisions_project_id_key"),
        Index("ix_decisions_project_id_created_at_id", "project_id", "created_at", "id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    rationale: Mapped[str] = mapped_column(Text, default="")
    message_ids: Mapped[list[str]] = mapped_column(default=list)


class AtlasConcept(IdMixin, Base):
    """One node of the atlas: a system (top-level folder), a module (file), a code concept
    (class, function, type) or an external package imported by the code."""

    __tablename__ = "atlas_concepts"
    __table_args__ = (
        Index("ix_atlas_concepts_project_id_layer", "project_id", "layer"),
        one_of("layer", CONCEPT_LAYERS),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("atlas_concepts.id", ondelete="CASCADE")
    )
    layer: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    path: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(32))
    line: Mapped[int | None] = mapped_column(Integer)
    exported: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    # Lower-case words of the name (camelCase and snake_case split), path and description.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # With `atlas/index?embed=true`: the vector of the concept's text (float32, unit length).
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
    embedding_dimensions: Mapped[int | None] = mapped_column(Integer)


class AtlasEdge(IdMixin, Base):
    __tablename__ = "atlas_edges"
    __table_args__ = (
        Index("ix_atlas_edges_project_id", "project_id"),
        Index("ix_atlas_edges_source_id", "source_id"),
        Index("ix_atlas_edges_target_id", "target_id"),
        one_of("kind", EDGE_KINDS),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("atlas_concepts.id", ondelete="CASCADE")
    )
    target_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("atlas_concepts.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    # For imports: the names imported, comma-separated ("" for a whole-module import).
    label: Mapped[str] = mapped_column(Text, default="")


class AtlasIndexState(Base):
    """The last index of a project's atlas: which snapshot, when, and what it skipped."""

    __tablename__ = "atlas_index_states"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    snapshot_id: Mapped[uuid.UUID | None]
    manifest_hash: Mapped[str] = mapped_column(String(64))
    files_parsed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[list[Any]] = mapped_column(default=list)
    indexed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AtlasDiagram(IdMixin, CreatedAtMixin, Base):
    """A diagram built from the atlas graph, stored as nodes and edges and as Mermaid text."""

    __tablename__ = "atlas_diagrams"
    __table_args__ = (
        Index("ix_atlas_diagrams_project_id_created_at_id", "project_id", "created_at", "id"),
        one_of("type", DIAGRAM_TYPES),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    concept_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("atlas_concepts.id", ondelete="SET NULL")
    )
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    nodes: Mapped[list[Any]] = mapped_column(default=list)
    edges: Mapped[list[Any]] = mapped_column(default=list)
    mermaid: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
