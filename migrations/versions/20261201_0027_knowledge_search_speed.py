"""knowledge search speed: a stored tsvector on PostgreSQL, a chunks version per knowledge base

Revision ID: 0027
Revises: 0020
Create Date: 2026-12-01 03:20:00

* PostgreSQL: `knowledge_chunks.tsv`, a generated (stored) `to_tsvector('english', text)`,
  filled on insert and backfilled here, with the GIN index `ix_knowledge_chunks_tsv` on it
  (replacing 0013's expression index): ranking reads the stored vector instead of computing
  `to_tsvector` for every matching chunk at query time.
* `knowledge_bases.chunks_version`: bumped by triggers whenever what vector search reads there
  can change (a chunk inserted, deleted, re-embedded; a document entering or leaving `ready`),
  so a process's cached matrix of vectors (`orbiter.knowledge.vector_cache`) knows when it is
  stale. PostgreSQL: statement-level triggers over the transition tables (one bump per
  statement and knowledge base); SQLite: row-level triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PG_UP = (
    "DROP INDEX ix_knowledge_chunks_tsv",
    "ALTER TABLE knowledge_chunks ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED",
    "CREATE INDEX ix_knowledge_chunks_tsv ON knowledge_chunks USING gin (tsv)",
    """CREATE FUNCTION knowledge_version_new_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id IN (SELECT DISTINCT knowledge_base_id FROM new_rows);
    RETURN NULL;
END $$""",
    """CREATE FUNCTION knowledge_version_old_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id IN (SELECT DISTINCT knowledge_base_id FROM old_rows);
    RETURN NULL;
END $$""",
    """CREATE FUNCTION knowledge_version_document() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id = NEW.knowledge_base_id;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER knowledge_version_chunks_insert AFTER INSERT ON knowledge_chunks "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION knowledge_version_new_rows()",
    "CREATE TRIGGER knowledge_version_chunks_update AFTER UPDATE ON knowledge_chunks "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION knowledge_version_new_rows()",
    "CREATE TRIGGER knowledge_version_chunks_delete AFTER DELETE ON knowledge_chunks "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION knowledge_version_old_rows()",
    "CREATE TRIGGER knowledge_version_documents AFTER UPDATE OF status ON documents "
    "FOR EACH ROW WHEN ((OLD.status = 'ready') IS DISTINCT FROM (NEW.status = 'ready')) "
    "EXECUTE FUNCTION knowledge_version_document()",
)
PG_DOWN = (
    "DROP TRIGGER knowledge_version_documents ON documents",
    "DROP TRIGGER knowledge_version_chunks_delete ON knowledge_chunks",
    "DROP TRIGGER knowledge_version_chunks_update ON knowledge_chunks",
    "DROP TRIGGER knowledge_version_chunks_insert ON knowledge_chunks",
    "DROP FUNCTION knowledge_version_document()",
    "DROP FUNCTION knowledge_version_old_rows()",
    "DROP FUNCTION knowledge_version_new_rows()",
    "DROP INDEX ix_knowledge_chunks_tsv",
    "ALTER TABLE knowledge_chunks DROP COLUMN tsv",
    "CREATE INDEX ix_knowledge_chunks_tsv ON knowledge_chunks "
    "USING gin (to_tsvector('english'::regconfig, text))",
)
SQLITE_UP = (
    """CREATE TRIGGER knowledge_version_chunks_insert AFTER INSERT ON knowledge_chunks BEGIN
    UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id = NEW.knowledge_base_id;
END""",
    """CREATE TRIGGER knowledge_version_chunks_update
AFTER UPDATE OF embedding, embedding_model, embedding_dimensions ON knowledge_chunks BEGIN
    UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id = NEW.knowledge_base_id;
END""",
    """CREATE TRIGGER knowledge_version_chunks_delete AFTER DELETE ON knowledge_chunks BEGIN
    UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id = OLD.knowledge_base_id;
END""",
    """CREATE TRIGGER knowledge_version_documents AFTER UPDATE OF status ON documents
WHEN (OLD.status = 'ready') IS NOT (NEW.status = 'ready') BEGIN
    UPDATE knowledge_bases SET chunks_version = chunks_version + 1 WHERE id = NEW.knowledge_base_id;
END""",
)
SQLITE_DOWN = tuple(
    f"DROP TRIGGER knowledge_version_{name}"
    for name in ("documents", "chunks_delete", "chunks_update", "chunks_insert")
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    # A plain add_column (never a batch copy: knowledge_bases has search triggers on SQLite).
    op.add_column(
        "knowledge_bases",
        sa.Column("chunks_version", sa.BigInteger(), server_default="0", nullable=False),
    )
    for statement in PG_UP if _postgresql() else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if _postgresql() else SQLITE_DOWN:
        op.execute(statement)
    op.drop_column("knowledge_bases", "chunks_version")
