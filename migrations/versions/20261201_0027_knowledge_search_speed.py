"""knowledge search speed: a stored tsvector on PostgreSQL, a chunks version per knowledge base

Revision ID: 0027
Revises: 0020
Create Date: 2026-12-01 03:20:00

* PostgreSQL: `knowledge_chunks.tsv`, a generated (stored) `to_tsvector('english', text)`,
  filled on insert and backfilled here, with the GIN index `ix_knowledge_chunks_tsv` on it
  (replacing 0013's expression index): ranking reads the stored vector instead of computing
  `to_tsvector` for every matching chunk at query time.
* `knowledge_bases.chunks_version`: bumped by triggers, in the changing transaction, whenever
  what search reads there can change, so a process's cached matrix of vectors
  (`orbiter.knowledge.vector_cache`) knows when it is stale. Search reads only the chunks of
  `ready` documents, and chunks are written only while their document is not `ready` (the
  indexing job) or re-embedded in place, so the triggers are: a document inserted `ready`,
  entering or leaving `ready`, deleted while `ready` (its chunks go with it); a chunk's vector
  changed. Row-level triggers on both dialects: an indexing job bumps the version once, as
  the last statement of its last transaction (the row lock is held only until its commit).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (trigger, its event, its condition): the row that names the knowledge base is NEW, or OLD
# for a delete.
TRIGGERS = (
    ("documents_insert", "AFTER INSERT ON documents", "NEW.status = 'ready'"),
    (
        "documents_status",
        "AFTER UPDATE OF status ON documents",
        "(OLD.status = 'ready') <> (NEW.status = 'ready')",
    ),
    ("documents_delete", "AFTER DELETE ON documents", "OLD.status = 'ready'"),
    (
        "chunks_vector",
        "AFTER UPDATE OF embedding, embedding_model, embedding_dimensions ON knowledge_chunks",
        None,
    ),
)
PG_FUNCTION = """CREATE FUNCTION knowledge_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE knowledge_bases SET chunks_version = chunks_version + 1
        WHERE id = OLD.knowledge_base_id;
    ELSE
        UPDATE knowledge_bases SET chunks_version = chunks_version + 1
        WHERE id = NEW.knowledge_base_id;
    END IF;
    RETURN NULL;
END $$"""
PG_FULLTEXT = (
    "DROP INDEX ix_knowledge_chunks_tsv",
    "ALTER TABLE knowledge_chunks ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED",
    "CREATE INDEX ix_knowledge_chunks_tsv ON knowledge_chunks USING gin (tsv)",
)
PG_FULLTEXT_DOWN = (
    "DROP INDEX ix_knowledge_chunks_tsv",
    "ALTER TABLE knowledge_chunks DROP COLUMN tsv",
    "CREATE INDEX ix_knowledge_chunks_tsv ON knowledge_chunks "
    "USING gin (to_tsvector('english'::regconfig, text))",
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _trigger(name: str, event: str, when: str | None, postgresql: bool) -> str:
    condition = f"WHEN ({when}) " if when else ""
    if postgresql:
        return (
            f"CREATE TRIGGER knowledge_version_{name} {event} FOR EACH ROW {condition}"
            "EXECUTE FUNCTION knowledge_version_bump()"
        )
    row = "OLD" if "DELETE" in event else "NEW"
    return (
        f"CREATE TRIGGER knowledge_version_{name} {event} FOR EACH ROW {condition}BEGIN "
        "UPDATE knowledge_bases SET chunks_version = chunks_version + 1 "
        f"WHERE id = {row}.knowledge_base_id; END"
    )


def upgrade() -> None:
    postgresql = _postgresql()
    # A plain add_column (never a batch copy: knowledge_bases has search triggers on SQLite).
    op.add_column(
        "knowledge_bases",
        sa.Column("chunks_version", sa.BigInteger(), server_default="0", nullable=False),
    )
    if postgresql:
        for statement in (*PG_FULLTEXT, PG_FUNCTION):
            op.execute(statement)
    for name, event, when in TRIGGERS:
        op.execute(_trigger(name, event, when, postgresql))


def downgrade() -> None:
    postgresql = _postgresql()
    for name, event, _ in TRIGGERS:
        table = event.rsplit(" ", 1)[1]
        op.execute(
            f"DROP TRIGGER knowledge_version_{name}" + (f" ON {table}" if postgresql else "")
        )
    if postgresql:
        op.execute("DROP FUNCTION knowledge_version_bump()")
        for statement in PG_FULLTEXT_DOWN:
            op.execute(statement)
    op.drop_column("knowledge_bases", "chunks_version")
