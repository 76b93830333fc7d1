"""Embeddings through a user's provider: the default provider's `embedding_model` (else the
oldest provider's that has one), on its OpenAI-compatible `POST /embeddings`. Vectors are
stored as float32 bytes scaled to unit length, so a cosine similarity is a dot product.

No provider with an embedding model: no embedder, and knowledge search is full-text only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.llm.openai_adapter import OpenAIProvider
from orbiter.models import LlmProvider
from orbiter.providers.embedding import embedding_provider
from orbiter.providers.opening import adapter_for
from orbiter.runtime.resources import Resources

Vectors = NDArray[np.float32]


@dataclass(frozen=True)
class Embedder:
    resources: Resources
    provider: LlmProvider
    model: str
    dimensions: int | None

    async def embed(self, texts: list[str]) -> Vectors:
        """One unit-length row per text."""
        adapter = adapter_for(self.resources, self.provider)
        try:
            assert isinstance(adapter, OpenAIProvider)  # embedding_model is refused otherwise
            raw = await adapter.embed(texts, model=self.model, dimensions=self.dimensions)
        finally:
            await adapter.close()
        return normalized(np.asarray(raw, dtype=np.float32))


def normalized(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    scaled: Vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return scaled


def nearest(vectors: Vectors, query: Vectors, limit: int) -> list[tuple[int, float]]:
    """The rows of `vectors` closest to `query` (cosine: all at unit length), best first, as
    (row number, similarity), ties by row number; an exact scan (CPU-bound: call it in a
    worker thread). Only the rows scoring at least the `limit`-th best score are sorted."""
    scores = vectors @ query
    rows = np.arange(len(scores))
    if 0 < limit < len(scores):
        threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        rows = np.flatnonzero(scores >= threshold)
    best = rows[np.argsort(-scores[rows], kind="stable")][:limit]
    return [(int(i), float(scores[i])) for i in best]


def to_bytes(vector: Vectors) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def from_bytes(rows: list[bytes], dimensions: int) -> Vectors:
    """The stored vectors as one matrix (a row per chunk)."""
    return np.frombuffer(b"".join(rows), dtype="<f4").reshape(len(rows), dimensions)


async def embedder_for(
    db: AsyncSession, resources: Resources, user_id: uuid.UUID | None
) -> Embedder | None:
    if user_id is None:
        return None
    row = await embedding_provider(db, user_id)
    if row is None or row.embedding_model is None:
        return None
    return Embedder(resources, row, row.embedding_model, row.embedding_dimensions)
