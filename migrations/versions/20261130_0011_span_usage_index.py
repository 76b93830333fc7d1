"""spans.project_id (the run's, denormalised) and ix_spans_usage for /monitoring/costs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 21:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USAGE = "(tokens_in > 0) OR (tokens_out > 0)"


def upgrade() -> None:
    with op.batch_alter_table("spans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.Uuid(), nullable=True))
    # backfill: every existing span takes its run's project
    op.execute(
        "UPDATE spans SET project_id = (SELECT runs.project_id FROM runs WHERE runs.id = spans.run_id)"
    )
    op.create_index(
        "ix_spans_usage",
        "spans",
        ["project_id", "started_at"],
        unique=False,
        postgresql_include=["model", "provider", "tokens_in", "tokens_out", "cost"],
        postgresql_where=sa.text(USAGE),
        sqlite_where=sa.text(USAGE),
    )


def downgrade() -> None:
    op.drop_index("ix_spans_usage", table_name="spans")
    with op.batch_alter_table("spans", schema=None) as batch_op:
        batch_op.drop_column("project_id")
