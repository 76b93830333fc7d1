"""Full-text ranking of the chunks of some knowledge bases (ready documents only), per
dialect, with the user's words never read as query syntax (as `orbiter.search` does):

* PostgreSQL: the words through `plainto_tsquery('english')` (stemmed, stop words dropped),
  any of them matching (`&` turned into `|`), against the expression GIN index of migration
  0013, ranked by `ts_rank_cd`;
* SQLite: each word quoted for FTS5 (`orbiter.search.sqlite.words`), any of them matching,
  ranked by `bm25` (negated: higher is better).

Any word matches rather than all, as suits a question asked of documents: a chunk with more
of the words (and rarer ones) ranks higher.
"""

from __future__ import annotations

import uuid

from sqlalchemy import TextClause, Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from orbiter.search import sqlite as sqlite_search
from orbiter.search.queries import WORD

_IDS = bindparam("kb_ids", expanding=True, type_=Uuid())

POSTGRES = text(
    """
SELECT c.id, ts_rank_cd(to_tsvector('english'::regconfig, c.text), q.query) AS score
FROM knowledge_chunks c
JOIN documents d ON d.id = c.document_id AND d.status = 'ready',
     (SELECT replace(plainto_tsquery('english'::regconfig, :q)::text, '&', '|')::tsquery
      AS query) q
WHERE to_tsvector('english'::regconfig, c.text) @@ q.query AND c.knowledge_base_id IN :kb_ids
ORDER BY score DESC, c.id
LIMIT :n
"""
).bindparams(_IDS)

SQLITE = text(
    """
SELECT c.id, -bm25(knowledge_chunks_fts) AS score
FROM knowledge_chunks_fts
JOIN knowledge_chunks c ON c.id = knowledge_chunks_fts.rowid
JOIN documents d ON d.id = c.document_id AND d.status = 'ready'
WHERE knowledge_chunks_fts MATCH :q AND c.knowledge_base_id IN :kb_ids
ORDER BY score DESC, c.id
LIMIT :n
"""
).bindparams(_IDS)


def _statement(dialect: str, query: str) -> tuple[TextClause, str]:
    if dialect == "postgresql":
        return POSTGRES, query
    return SQLITE, sqlite_search.words(query).replace('" "', '" OR "')


def has_words(query: str) -> bool:
    return WORD.search(query) is not None


async def rank(
    conn: AsyncConnection, query: str, kb_ids: list[uuid.UUID], limit: int
) -> list[tuple[int, float]]:
    """(chunk id, score), best first; nothing for a query without a word."""
    if not has_words(query) or not kb_ids:
        return []
    statement, q = _statement(conn.dialect.name, query)
    result = await conn.execute(statement, {"q": q, "kb_ids": kb_ids, "n": limit})
    return [(int(chunk_id), float(score)) for chunk_id, score in result]
