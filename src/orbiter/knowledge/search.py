"""Searching the chunks of some knowledge bases: full-text always, vectors when the caller's
embedding model has embedded chunks there, the two fused by reciprocal rank.

| the caller's embedding model | chunks embedded by it | the query has words | method |
|---|---|---|---|
| none | any | yes | `text` |
| set | none | yes | `text` |
| set | some | yes | `hybrid`: each ranking's top candidates, fused (RRF, k = 60) |
| set | some | no (only punctuation) | `vector` |

Vectors: on PostgreSQL with pgvector (migration 0033), an exact scan of the unit vectors'
inner product (their cosine) in the database (`pgvector.py`); elsewhere an exact cosine scan in numpy of that model's vectors
in the knowledge bases (all stored at unit length, so one matrix product), off the event
loop, over the matrix this process keeps of them (`vector_cache.py`: read again from the
database when a trigger-kept version says they changed). The same ranking either way (ties
by chunk id). Only chunks embedded by the
caller's model at the query vector's length take part: a chunk another model (or length)
embedded, waiting for the re-embedding job (`reembed.py`), is found by full text alone, and
when no chunk qualifies the method is `text`. Dimensions are never mixed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbiter.core.db import read_only
from orbiter.knowledge import fulltext, pgvector
from orbiter.knowledge.embeddings import Embedder, Vectors, nearest
from orbiter.knowledge.schemas import Method, SearchResponse, SearchResult
from orbiter.knowledge.vector_cache import CACHE, Matrix

logger = logging.getLogger("orbiter.knowledge")

RRF_K = 60
MIN_CANDIDATES = 50  # per ranking, before fusion

Ranked = list[tuple[int, float]]  # (chunk id, score), best first
Key = TypeVar("Key", int, uuid.UUID)

ANY_VECTOR = text(
    """
SELECT 1 FROM knowledge_chunks c
JOIN documents d ON d.id = c.document_id AND d.status = 'ready'
WHERE c.knowledge_base_id IN :kb_ids AND c.embedding_model = :model LIMIT 1
"""
).bindparams(bindparam("kb_ids", expanding=True, type_=Uuid()))
CHUNKS = text(
    """
SELECT c.id, c.text, c.position, c.document_id, d.name, c.knowledge_base_id
FROM knowledge_chunks c JOIN documents d ON d.id = c.document_id
WHERE c.id IN :ids
"""
).bindparams(bindparam("ids", expanding=True))


async def search(
    engine: AsyncEngine,
    *,
    kb_ids: Sequence[uuid.UUID],
    query: str,
    top_k: int,
    embedder: Embedder | None,
) -> SearchResponse:
    ids = list(kb_ids)
    query = query.replace("\x00", " ")  # never a word, and PostgreSQL text cannot hold it
    candidates = max(top_k * 4, MIN_CANDIDATES)
    async with read_only(engine) as conn:
        by_text = await fulltext.rank(conn, query, ids, candidates)
        vectors = await _has_vectors(conn, ids, embedder)
    by_vector = None
    if embedder is not None and vectors:
        by_vector = await _vector_rank(engine, ids, query, embedder, candidates)
    method, ranked = fuse(query, by_text, by_vector)
    top = ranked[:top_k]
    async with read_only(engine) as conn:
        rows = await _chunks(conn, [chunk_id for chunk_id, _ in top])
    results = [_result(rows[chunk_id], score) for chunk_id, score in top if chunk_id in rows]
    return SearchResponse(method=method, query=query, results=results)


def fuse(query: str, by_text: Ranked, by_vector: Ranked | None) -> tuple[Method, Ranked]:
    if by_vector is None:
        return "text", by_text
    if not fulltext.has_words(query):
        return "vector", by_vector
    return "hybrid", rrf(by_text, by_vector)


def rrf(*rankings: list[tuple[Key, float]]) -> list[tuple[Key, float]]:
    """Reciprocal rank fusion: each item scores the sum of 1 / (RRF_K + its rank) over the
    rankings it is in; best first (ties by id)."""
    scores: dict[Key, float] = {}
    for ranking in rankings:
        for rank, (key, _) in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


async def _has_vectors(
    conn: AsyncConnection, kb_ids: list[uuid.UUID], embedder: Embedder | None
) -> bool:
    """Whether the caller's model embedded anything there (else the query is not embedded)."""
    if embedder is None or not kb_ids:
        return False
    return await conn.scalar(ANY_VECTOR, {"kb_ids": kb_ids, "model": embedder.model}) is not None


async def _vector_rank(
    engine: AsyncEngine,
    kb_ids: list[uuid.UUID],
    query: str,
    embedder: Embedder,
    limit: int,
) -> Ranked | None:
    """The chunks embedded by the caller's model at the query vector's length, by cosine;
    None when there are none (all stale: another length), so text alone answers."""
    [vector] = await embedder.embed([query])
    settings = embedder.resources.settings
    if settings.knowledge_pgvector and await pgvector.available(engine):
        async with read_only(engine) as conn:
            return await pgvector.rank(conn, kb_ids, embedder.model, vector, limit) or None
    dimensions = int(vector.shape[0])
    max_bytes = settings.knowledge_vector_cache_mb * 1024**2
    matrix = await CACHE.matrix(engine, kb_ids, embedder.model, dimensions, max_bytes)
    if not len(matrix.ids):
        return None
    logger.debug("vector ranking by numpy: %d chunks scanned", len(matrix.ids))
    return await asyncio.to_thread(_cosine_top, matrix, vector, limit)


def _cosine_top(matrix: Matrix, vector: Vectors, limit: int) -> Ranked:
    return [(int(matrix.ids[i]), score) for i, score in nearest(matrix.vectors, vector, limit)]


async def _chunks(conn: AsyncConnection, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row[0]: row for row in await conn.execute(CHUNKS, {"ids": ids})}


def _result(row: Any, score: float) -> SearchResult:
    chunk_id, body, position, document_id, name, kb_id = row
    return SearchResult(
        chunk_id=chunk_id,
        score=score,
        text=body,
        position=position,
        document_id=_uuid(document_id),
        document_name=name,
        knowledge_base_id=_uuid(kb_id),
    )


def _uuid(value: Any) -> uuid.UUID:
    """A UUID column read through a plain `text()` statement: a UUID on PostgreSQL, 32 hex
    characters on SQLite."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
