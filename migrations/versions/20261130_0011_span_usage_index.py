"""spans.project_id (the run's, denormalised), ix_spans_usage and usage_rollups (backfilled)
for /monitoring/costs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 21:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orbiter.models.base
from orbiter.monitoring.rollup import backfill_sql

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
    op.create_table('usage_rollups',
    sa.Column('project_id', sa.Uuid(), nullable=False),
    sa.Column('hour', orbiter.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('priced', sa.Boolean(), nullable=False),
    sa.Column('tokens_in', sa.BigInteger(), nullable=False),
    sa.Column('tokens_out', sa.BigInteger(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('spans', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_usage_rollups_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'hour', 'kind', 'target_id', 'provider', 'model', 'priced', name=op.f('pk_usage_rollups'))
    )
    # backfill: the totals of the spans already there
    op.execute(backfill_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.drop_table('usage_rollups')
    op.drop_index("ix_spans_usage", table_name="spans")
    with op.batch_alter_table("spans", schema=None) as batch_op:
        batch_op.drop_column("project_id")
