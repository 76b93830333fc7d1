"""full-text search: one search_documents table kept current by triggers, backfilled

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 22:00:00

Every searchable row (projects, agents, workflows, tools, conversations, messages) has one
row in `search_documents`: its type and id, the project it belongs to, a title and a body.
Triggers on the source tables keep it current on every insert, update and delete, whoever
writes (the API, a worker, raw SQL); this migration backfills the rows that exist.

* PostgreSQL: a generated `tsvector` column (title weight A, body weight D, `english`) with a
  GIN index.
* SQLite: an FTS5 table (`porter unicode61`) whose content is `search_documents`
  (external content, rowid = `search_documents.id`), kept in step by triggers on it.

The table is not an ORM model: its shape differs per dialect, so `orbiter.models.search`
describes it for queries and tells Alembic's autogenerate to leave it alone.

On SQLite a batch migration that copies one of the source tables drops its triggers with
the old copy: such a migration must create them again (tests/test_migrations.py checks that
every trigger is there at head).
"""

from collections.abc import Sequence

from alembic import op

from orbiter.search.ddl import COLUMNS
from orbiter.search.ddl import FIRST_SOURCES as SOURCES
from orbiter.search.ddl import pg_trigger as _pg_trigger
from orbiter.search.ddl import sqlite_triggers as _sqlite_triggers
from orbiter.search.ddl import values_of as _values

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _backfill(newline: str) -> None:
    for source in SOURCES:
        values = _values(source, "t", newline)
        op.execute(
            f"INSERT INTO search_documents ({COLUMNS}) SELECT {values} FROM {source.table} t"
        )


# ----------------------------------------------------------------------------- PostgreSQL

PG_TABLE = """
CREATE TABLE search_documents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type varchar(32) NOT NULL,
    row_id uuid NOT NULL,
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    parent_id uuid,
    title text NOT NULL,
    body text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, body), 'D')
    ) STORED,
    CONSTRAINT uq_search_documents_type_row_id UNIQUE (type, row_id)
)
"""
PG_INDEXES = (
    "CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (tsv)",
    "CREATE INDEX ix_search_documents_project_id ON search_documents (project_id)",
    "CREATE INDEX ix_search_documents_parent_id ON search_documents (parent_id)",
)


# A conversation moved to another project takes its messages' documents along.
PG_MOVE = """
CREATE FUNCTION search_move_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_documents SET project_id = NEW.project_id
    WHERE type = 'message' AND parent_id = NEW.id;
    RETURN NULL;
END
$$"""
PG_MOVE_TRIGGER = (
    "CREATE TRIGGER search_move_messages AFTER UPDATE OF project_id ON conversations "
    "FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id) "
    "EXECUTE FUNCTION search_move_messages()"
)


def _pg_steps() -> tuple[list[str], list[str]]:
    """(before the backfill, after it)."""
    triggers = [statement for source in SOURCES for statement in _pg_trigger(source)]
    return [PG_TABLE, *PG_INDEXES], [
        *triggers,
        PG_MOVE,
        PG_MOVE_TRIGGER,
        "ANALYZE search_documents",
    ]


def _pg_downgrade() -> None:
    op.execute("DROP TRIGGER search_move_messages ON conversations")
    op.execute("DROP FUNCTION search_move_messages()")
    for source in SOURCES:
        function = f"search_index_{source.table}"
        op.execute(f"DROP TRIGGER {function} ON {source.table}")
        op.execute(f"DROP FUNCTION {function}()")
    op.execute("DROP TABLE search_documents")


# --------------------------------------------------------------------------------- SQLite

SQLITE_TABLE = """
CREATE TABLE search_documents (
    id INTEGER PRIMARY KEY,
    type VARCHAR(32) NOT NULL,
    row_id CHAR(32) NOT NULL,
    project_id CHAR(32) NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    parent_id CHAR(32),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    CONSTRAINT uq_search_documents_type_row_id UNIQUE (type, row_id)
)
"""
SQLITE_INDEXES = (
    "CREATE INDEX ix_search_documents_project_id ON search_documents (project_id)",
    "CREATE INDEX ix_search_documents_parent_id ON search_documents (parent_id)",
)
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_documents', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
)
# The external-content FTS5 table follows search_documents (the pattern in the FTS5 manual).
SQLITE_FTS_TRIGGERS = (
    """CREATE TRIGGER search_documents_insert AFTER INSERT ON search_documents BEGIN
    INSERT INTO search_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
    """CREATE TRIGGER search_documents_delete AFTER DELETE ON search_documents BEGIN
    INSERT INTO search_fts (search_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
END""",
    """CREATE TRIGGER search_documents_update AFTER UPDATE OF title, body ON search_documents
BEGIN
    INSERT INTO search_fts (search_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO search_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
)
SQLITE_MOVE_TRIGGER = """CREATE TRIGGER search_move_messages AFTER UPDATE OF project_id
ON conversations WHEN old.project_id IS NOT new.project_id BEGIN
    UPDATE search_documents SET project_id = new.project_id
    WHERE type = 'message' AND parent_id = new.id;
END"""


def _sqlite_steps() -> tuple[list[str], list[str]]:
    """(before the backfill, after it)."""
    triggers = [statement for source in SOURCES for statement in _sqlite_triggers(source)]
    return [SQLITE_TABLE, *SQLITE_INDEXES, SQLITE_FTS, *SQLITE_FTS_TRIGGERS], [
        *triggers,
        SQLITE_MOVE_TRIGGER,
    ]


def _sqlite_downgrade() -> None:
    op.execute("DROP TRIGGER search_move_messages")
    for source in SOURCES:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER search_index_{source.table}_{event}")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER search_documents_{event}")
    op.execute("DROP TABLE search_fts")
    op.execute("DROP TABLE search_documents")


def upgrade() -> None:
    """The table (and on SQLite the FTS5 table), the rows that exist, then the triggers."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    before, after = _pg_steps() if postgresql else _sqlite_steps()
    for statement in before:
        op.execute(statement)
    _backfill("chr(10)" if postgresql else "char(10)")
    for statement in after:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_downgrade()
    else:
        _sqlite_downgrade()
