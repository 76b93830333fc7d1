"""full-text search over tasks: search_documents.user_id, the tasks' triggers and backfill

Revision ID: 0031
Revises: 0023
Create Date: 2026-12-01 04:20:00

The same `search_documents` rows and triggers as migrations 0010 and 0019
(orbiter.search.ddl), for `tasks`: a task by its prompt (the title), repository URL and
branch. A task is its user's alone, not its project's members': the new nullable column
`search_documents.user_id` holds that user (null for every other type), and a search keeps a
row with a user only for that user. No foreign key: the task's own row goes with its user
(tasks.user_id cascades) and its trigger deletes the document; without one SQLite can drop
the column again. Plain ALTER TABLE on both backends (never a batch copy of a table with
triggers).
"""

from collections.abc import Sequence

from alembic import op

from orbiter.search.ddl import TASK_SOURCES, added, removed

revision: str = "0031"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    uuid_type = "uuid" if postgresql else "CHAR(32)"  # as search_documents.row_id
    op.execute(f"ALTER TABLE search_documents ADD COLUMN user_id {uuid_type}")
    for source in TASK_SOURCES:
        for statement in added(source, postgresql=postgresql):
            op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for source in TASK_SOURCES:
        for statement in removed(source, postgresql=postgresql):
            op.execute(statement)
    op.execute("ALTER TABLE search_documents DROP COLUMN user_id")
