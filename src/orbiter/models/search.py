"""The full-text search index: tables outside the ORM, made per dialect by migration 0010.

`search_documents` holds one row per searchable row (its type and id, project, parent, title
and body; and for a row of one user's own, a task, that user), kept current by triggers on the source tables. PostgreSQL adds a generated
`tsvector` column with a GIN index; SQLite an FTS5 table `search_fts` over it (external
content, rowid = `search_documents.id`). These are lightweight descriptions for queries, not
models: Alembic's autogenerate is told to leave them alone (`include_name`).
"""

from __future__ import annotations

from sqlalchemy import Integer, String, Text, Uuid, column, table
from sqlalchemy.dialects.postgresql import TSVECTOR

SEARCH_TABLES = frozenset({"search_documents", "search_fts"})
# Made by hand per dialect in migrations 0013 and 0027: the knowledge chunks' FTS5 table
# (SQLite), their generated `tsv` column and its GIN index (PostgreSQL).
KNOWLEDGE_FULLTEXT = ("knowledge_chunks_fts", "ix_knowledge_chunks_tsv", "tsv")
# Migration 0033, on PostgreSQL with pgvector: the chunks' vectors (table and index).
KNOWLEDGE_VECTORS = "knowledge_chunk_vectors"

search_documents = table(
    "search_documents",
    column("id", Integer),
    column("type", String),
    column("row_id", Uuid),
    column("project_id", Uuid),
    column("parent_id", Uuid),
    column("title", Text),
    column("body", Text),
    column("tsv", TSVECTOR),  # PostgreSQL only
    column("user_id", Uuid),  # migration 0031: the one user who finds the row (a task's)
)
search_fts = table("search_fts", column("rowid", Integer))  # SQLite only


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Alembic's `include_name` hook: the search tables (and FTS5's own shadow tables,
    `search_fts_*`), the knowledge chunks' full-text index and their pgvector table are made
    by hand per dialect, so autogenerate does not compare them."""
    if name is not None and name.startswith((*KNOWLEDGE_FULLTEXT, KNOWLEDGE_VECTORS)):
        return False
    if type_ != "table" or name is None:
        return True
    return name not in SEARCH_TABLES and not name.startswith("search_fts_")
