"""full-text search over knowledge bases and documents: their triggers and backfill

Revision ID: 0019
Revises: 0013
Create Date: 2026-12-01 01:15:00

The same `search_documents` rows and triggers as migration 0010 (orbiter.search.ddl), for
the knowledge domain's tables: a knowledge base by its name and description, a document by
its name and extracted text (its parent: the knowledge base).
"""

from collections.abc import Sequence

from alembic import op

from orbiter.search.ddl import COLUMNS, KNOWLEDGE_SOURCES, pg_trigger, sqlite_triggers, values_of

revision: str = "0019"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    newline = "chr(10)" if postgresql else "char(10)"
    for source in KNOWLEDGE_SOURCES:
        values = values_of(source, "t", newline)
        op.execute(f"INSERT INTO search_documents ({COLUMNS}) SELECT {values} FROM {source.table} t")
        for statement in pg_trigger(source) if postgresql else sqlite_triggers(source):
            op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for source in KNOWLEDGE_SOURCES:
        name = f"search_index_{source.table}"
        if postgresql:
            op.execute(f"DROP TRIGGER {name} ON {source.table}")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {name}_{event}")
        op.execute(f"DELETE FROM search_documents WHERE type = '{source.type}'")
