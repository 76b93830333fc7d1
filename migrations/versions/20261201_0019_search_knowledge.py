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

from orbiter.search.ddl import KNOWLEDGE_SOURCES, added, removed

revision: str = "0019"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for source in KNOWLEDGE_SOURCES:
        for statement in added(source, postgresql=postgresql):
            op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for source in KNOWLEDGE_SOURCES:
        for statement in removed(source, postgresql=postgresql):
            op.execute(statement)
