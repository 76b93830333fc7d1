"""The vector ranking inside PostgreSQL, with pgvector, when migration 0033 could install it.

That migration adds the table `knowledge_chunk_vectors`, the chunks' vectors as pgvector
`vector`s, which triggers keep equal to the stored float32 bytes in the writing transaction
(whoever writes them), and which goes with its chunk. When the table is there
(and `ORBITER_KNOWLEDGE_PGVECTOR` is on, the default) a query ranks the same chunks the numpy
scan would (`ready` documents, the knowledge bases searched, the caller's model, the query
vector's length) in an exact scan, ties by chunk id: no HNSW index, which is approximate and,
filtered to some knowledge bases, may miss rows. All vectors are stored at unit length, so
the cosine similarity is their dot product: ranked by pgvector's negative inner product `<#>`
(the cosine distance `<=>` orders them the same, but is NaN for a zero vector, which the
embedding of a text without words can be, where numpy's dot product is 0); the score is the
dot product, as numpy's.

Elsewhere (SQLite, or PostgreSQL without pgvector when the migration ran) `available` is
False and `search.py` takes the numpy path. sqlite-vec is not used on SQLite: the Python this
was built and tested on is compiled without `sqlite3.Connection.enable_load_extension`, so
the extension cannot be loaded there (README, knowledge).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbiter.core.db import read_only
from orbiter.knowledge.embeddings import Vectors

logger = logging.getLogger("orbiter.knowledge")

TABLE = text("SELECT to_regclass('knowledge_chunk_vectors')")
NEAREST = text(
    """
SELECT v.chunk_id, v.embedding <#> CAST(:query AS vector) AS distance
FROM knowledge_chunk_vectors v JOIN documents d ON d.id = v.document_id AND d.status = 'ready'
WHERE v.knowledge_base_id IN :kb_ids AND v.model = :model AND v.dimensions = :dimensions
ORDER BY distance, v.chunk_id
LIMIT :limit
"""
).bindparams(bindparam("kb_ids", expanding=True, type_=Uuid()))

_tables: dict[str, bool] = {}  # per database URL: whether the migration added the table


async def available(engine: AsyncEngine) -> bool:
    """Whether this database searches vectors with pgvector (asked once per process)."""
    if engine.dialect.name != "postgresql":
        return False
    key = engine.url.render_as_string(hide_password=True)
    if key not in _tables:
        async with read_only(engine) as conn:
            _tables[key] = await conn.scalar(TABLE) is not None
    return _tables[key]


def literal(vector: Vectors) -> str:
    """pgvector's text form of a float32 vector, exact: each value's shortest float64 repr,
    which reads back (as float32) as the same value."""
    return "[" + ",".join(repr(value) for value in vector.tolist()) + "]"


def _params(
    kb_ids: Sequence[uuid.UUID], model: str, vector: Vectors, limit: int
) -> dict[str, object]:
    return {
        "kb_ids": list(kb_ids),
        "model": model,
        "dimensions": int(vector.shape[0]),
        "query": literal(vector),
        "limit": limit,
    }


async def rank(
    conn: AsyncConnection, kb_ids: Sequence[uuid.UUID], model: str, vector: Vectors, limit: int
) -> list[tuple[int, float]]:
    """The `limit` nearest chunks, best first: (chunk id, cosine similarity)."""
    rows = await conn.execute(NEAREST, _params(kb_ids, model, vector, limit))
    ranked = [(int(chunk_id), -float(distance)) for chunk_id, distance in rows]
    logger.debug("vector ranking by pgvector: %d chunks", len(ranked))
    return ranked
