"""The vectors vector search scans, kept in memory per process.

Per (database, knowledge bases, model, length): the ids of the chunks of `ready` documents
embedded by that model at that length, in id order, and their unit vectors as one float32
matrix, tagged with the knowledge bases' `chunks_version` as read just before them. Triggers
bump that version whenever those rows can change (migration 0027: a document inserted
`ready`, entering or leaving `ready`, deleted while `ready`; a chunk re-embedded; chunks are
written only while their document is not `ready`), in the same transaction as the change,
so every query reads the versions first (one small statement) and reads the vectors again
when they moved: a deleted chunk is never scanned, whichever process deleted it. A change
landing between the two reads leaves the entry tagged older than its rows, so it is read
again next time; never the other way round.

Least recently used entries go once the cache holds more than `ORBITER_KNOWLEDGE_VECTOR_CACHE_MB`;
a matrix larger than that is used for its query and not kept.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from orbiter.core.db import read_only
from orbiter.knowledge.embeddings import Vectors, from_bytes

VECTORS = text(
    """
SELECT c.id, c.embedding FROM knowledge_chunks c
JOIN documents d ON d.id = c.document_id AND d.status = 'ready'
WHERE c.knowledge_base_id IN :kb_ids AND c.embedding_model = :model
  AND c.embedding_dimensions = :dimensions
ORDER BY c.id
"""
).bindparams(bindparam("kb_ids", expanding=True, type_=Uuid()))
VERSIONS = text("SELECT id, chunks_version FROM knowledge_bases WHERE id IN :kb_ids").bindparams(
    bindparam("kb_ids", expanding=True, type_=Uuid())
)

Key = tuple[str, tuple[str, ...], str, int]
Versions = tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Matrix:
    ids: NDArray[np.int64]  # the chunk id of each row
    vectors: Vectors

    @property
    def nbytes(self) -> int:
        return int(self.ids.nbytes + self.vectors.nbytes)


class VectorCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[Key, tuple[Versions, Matrix]] = OrderedDict()

    async def matrix(
        self,
        engine: AsyncEngine,
        kb_ids: list[uuid.UUID],
        model: str,
        dimensions: int,
        max_bytes: int,
    ) -> Matrix:
        """The current vectors of that model and length in those knowledge bases."""
        bases = tuple(sorted(str(kb_id) for kb_id in kb_ids))
        key = (engine.url.render_as_string(hide_password=True), bases, model, dimensions)
        params = {"kb_ids": kb_ids, "model": model, "dimensions": dimensions}
        async with read_only(engine) as conn:
            versions = _versions(await conn.execute(VERSIONS, {"kb_ids": kb_ids}))
            cached = self._entries.get(key)
            if cached is not None and cached[0] == versions:
                self._entries.move_to_end(key)
                return cached[1]
            rows = list((await conn.execute(VECTORS, params)).all())
        built = await asyncio.to_thread(_build, rows, dimensions)
        self._keep(key, versions, built, max_bytes)
        return built

    def _keep(self, key: Key, versions: Versions, built: Matrix, max_bytes: int) -> None:
        self._entries.pop(key, None)
        if built.nbytes > max_bytes:
            return
        self._entries[key] = (versions, built)
        total = sum(matrix.nbytes for _, matrix in self._entries.values())
        while total > max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            total -= dropped.nbytes

    def clear(self) -> None:
        self._entries.clear()


def _versions(rows: Any) -> Versions:
    return tuple(sorted((str(uuid.UUID(str(kb_id))), int(version)) for kb_id, version in rows))


def _build(rows: list[Any], dimensions: int) -> Matrix:
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    return Matrix(ids, from_bytes([row[1] for row in rows], dimensions))


CACHE = VectorCache()  # one per process
