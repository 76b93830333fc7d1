"""Full-text ranking of the chunks of some knowledge bases (ready documents only), per
dialect, with the user's words never read as query syntax (as `orbiter.search` does):

* PostgreSQL: the words through `plainto_tsquery('english')` (stemmed, stop words dropped),
  any of them matching (`&` turned into `|`), against the stored `tsv` column and its GIN
  index (migration 0027), ranked by `ts_rank_cd` of that stored vector. A common word
  matches a large share of the chunks, and `ts_rank_cd` of each of them was most of the
  time, so the chunks that repeat one of the query's lexemes (`tsv_repeated`, migration
  0034) are ranked first, alone. That answer is the full statement's when its last chunk
  scores above what any other chunk can: `tsv` labels every position D (weight 0.1), and
  with only `|` between lexemes each cover `ts_rank_cd` sums is one position, worth at most
  0.1, so a chunk where each query lexeme occurs at most once scores at most 0.1 per
  lexeme (bounded here by the query's node count). Otherwise the full statement ranks all;
* SQLite: each word quoted for FTS5 (`orbiter.search.sqlite.words`), any of them matching,
  ranked by `bm25` (negated: higher is better). FTS5 ranks the best few matches of the whole
  index first, and only those are joined to their chunks and documents and filtered; when too
  few of them pass (the knowledge bases hold a small share of the matches), the full
  statement ranks every match of them.

Any word matches rather than all, as suits a question asked of documents: a chunk with more
of the words (and rarer ones) ranks higher.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from orbiter.search import sqlite as sqlite_search
from orbiter.search.queries import WORD

_IDS = bindparam("kb_ids", expanding=True, type_=Uuid())

_POSTGRES = """
SELECT c.id, ts_rank_cd(c.tsv, q.query) AS score{nodes}
FROM knowledge_chunks c
JOIN documents d ON d.id = c.document_id AND d.status = 'ready',
     (SELECT replace(plainto_tsquery('english'::regconfig, :q)::text, '&', '|')::tsquery
      AS query) q
WHERE c.{column} @@ q.query AND c.knowledge_base_id IN :kb_ids
ORDER BY score DESC, c.id
LIMIT :n
"""
POSTGRES = text(_POSTGRES.format(nodes="", column="tsv")).bindparams(_IDS)
# The same ranking, of the chunks that repeat a query lexeme only; `nodes` bounds the lexemes.
POSTGRES_REPEATED = text(
    _POSTGRES.format(nodes=", numnode(q.query) AS nodes", column="tsv_repeated")
).bindparams(_IDS)
D_WEIGHT = 0.1  # ts_rank_cd's default weight of a position labelled D (all of `tsv`'s)
MARGIN = 1e-4  # scores are float4 sums: a tie with the bound is never taken as above it

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
# The best `:window` matches of the whole index first (FTS5 alone: no join per match), then
# only those joined and filtered; the same order as SQLITE (bm25, then id), so when at least
# `:n` of them pass the filters they are exactly SQLITE's answer.
SQLITE_WINDOW = text(
    """
SELECT c.id, -f.bm25 AS score
FROM (
    SELECT rowid, bm25(knowledge_chunks_fts) AS bm25 FROM knowledge_chunks_fts
    WHERE knowledge_chunks_fts MATCH :q ORDER BY bm25, rowid LIMIT :window
) f
JOIN knowledge_chunks c ON c.id = f.rowid
JOIN documents d ON d.id = c.document_id AND d.status = 'ready'
WHERE c.knowledge_base_id IN :kb_ids
ORDER BY score DESC, c.id
LIMIT :n
"""
).bindparams(_IDS)
WINDOW = 4  # SQLite: the window is this many times the chunks asked for


def _sqlite_query(query: str) -> str:
    return sqlite_search.words(query).replace('" "', '" OR "')


def has_words(query: str) -> bool:
    return WORD.search(query) is not None


async def rank(
    conn: AsyncConnection, query: str, kb_ids: list[uuid.UUID], limit: int
) -> list[tuple[int, float]]:
    """(chunk id, score), best first; nothing for a query without a word."""
    if not has_words(query) or not kb_ids:
        return []
    if conn.dialect.name == "postgresql":
        return await _rank_postgres(conn, {"q": query, "kb_ids": kb_ids, "n": limit})
    params = {"q": _sqlite_query(query), "kb_ids": kb_ids, "n": limit, "window": limit * WINDOW}
    found = _ranked(await conn.execute(SQLITE_WINDOW, params))
    if len(found) < limit:  # too few of the best matches are in these knowledge bases
        found = _ranked(await conn.execute(SQLITE, params))
    return found


async def _rank_postgres(conn: AsyncConnection, params: dict[str, Any]) -> list[tuple[int, float]]:
    """The chunks repeating a query lexeme, when they are provably the best `n` of all (see
    the module's docstring); else every match ranked."""
    limit = params["n"]
    repeated = (await conn.execute(POSTGRES_REPEATED, params)).all()
    if limit > 0 and len(repeated) >= limit:
        _, last_score, nodes = repeated[limit - 1]
        if last_score > D_WEIGHT * nodes * (1 + MARGIN):
            return _ranked((chunk_id, score) for chunk_id, score, _ in repeated)
    return _ranked(await conn.execute(POSTGRES, params))


def _ranked(result: Any) -> list[tuple[int, float]]:
    return [(int(chunk_id), float(score)) for chunk_id, score in result]
