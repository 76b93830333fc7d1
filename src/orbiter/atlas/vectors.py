"""Atlas embeddings: with `atlas/index?embed=true`, each concept's text (its layer, name, path
and first docstring line) is embedded through the caller's embedding model (the knowledge
domain's `Embedder`), in batches, and stored on the concept with the model and dimension;
`atlas/search` then ranks the concepts that model embedded by cosine similarity too."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import ValidationFailed
from orbiter.knowledge.embeddings import Embedder, from_bytes, nearest, to_bytes
from orbiter.models import AtlasConcept

NO_MODEL = (
    "embed=true needs an embedding model: set `embedding_model` on your default LLM provider "
    "(PUT /api/v1/providers/{id}), or index without embed"
)


def no_embedding_model() -> ValidationFailed:
    return ValidationFailed.for_field("embed", NO_MODEL, type_="missing_embedding_model")


def concept_text(concept: dict[str, Any]) -> str:
    """What is embedded for a concept: `function Order.total in shop/order.py: The sum.`"""
    where = (
        f" in {concept['path']}" if concept["path"] and concept["path"] != concept["name"] else ""
    )
    about = f": {concept['description']}" if concept["description"] else ""
    return f"{concept['layer']} {concept['name']}{where}{about}"


async def embed_concepts(embedder: Embedder, concepts: list[dict[str, Any]], batch: int) -> int:
    """Add `embedding`, `embedding_model` and `embedding_dimensions` to each concept row (one
    `/embeddings` request per `batch` concepts); returns how many were embedded."""
    for start in range(0, len(concepts), batch):
        rows = concepts[start : start + batch]
        vectors = await embedder.embed([concept_text(row) for row in rows])
        for row, vector in zip(rows, vectors, strict=True):
            row["embedding"] = to_bytes(vector)
            row["embedding_model"] = embedder.model
            row["embedding_dimensions"] = int(vector.shape[0])
    return len(concepts)


async def has_vectors(db: AsyncSession, project_id: uuid.UUID, model: str) -> int | None:
    """The dimension of the vectors `model` made for the project's concepts, or None."""
    return await db.scalar(
        select(AtlasConcept.embedding_dimensions)
        .where(AtlasConcept.project_id == project_id, AtlasConcept.embedding_model == model)
        .limit(1)
    )


async def rank_by_vector(
    db: AsyncSession,
    project_id: uuid.UUID,
    embedder: Embedder,
    dimensions: int,
    query: str,
    limit: int,
) -> list[tuple[uuid.UUID, float]]:
    """The concepts closest to the query (cosine over 0), best first."""
    [vector] = await embedder.embed([query])
    if vector.shape[0] != dimensions:  # the model now answers another length: nothing matches
        return []
    found = (
        await db.execute(
            select(AtlasConcept.id, AtlasConcept.embedding).where(
                AtlasConcept.project_id == project_id,
                AtlasConcept.embedding_model == embedder.model,
                AtlasConcept.embedding_dimensions == dimensions,
            )
        )
    ).all()
    rows = [(concept_id, data) for concept_id, data in found if data is not None]
    if not rows:
        return []
    matrix = from_bytes([row[1] for row in rows], dimensions)
    best = await asyncio.to_thread(nearest, matrix, vector, limit)
    return [(rows[i][0], score) for i, score in best if score > 0]
