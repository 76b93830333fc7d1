"""waveforms: uploaded VCD, FST and GHW files (metadata and hierarchy; bytes in the blob store)

Revision ID: 0017
Revises: 0012
Create Date: 2026-11-30 23:59:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orbiter.models.base

revision: str = "0017"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waveforms",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("timescale", sa.String(length=32), nullable=True),
        sa.Column("start_time", sa.BigInteger(), nullable=True),
        sa.Column("end_time", sa.BigInteger(), nullable=True),
        sa.Column("signal_count", sa.Integer(), nullable=False),
        sa.Column("hierarchy", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", orbiter.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", orbiter.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("format IN ('vcd', 'fst', 'ghw')", name=op.f("ck_waveforms_format")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_waveforms_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_waveforms_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waveforms")),
    )
    with op.batch_alter_table("waveforms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waveforms_content_hash"), ["content_hash"], unique=False
        )
        batch_op.create_index(
            "ix_waveforms_user_id_created_at_id", ["user_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("waveforms", schema=None) as batch_op:
        batch_op.drop_index("ix_waveforms_user_id_created_at_id")
        batch_op.drop_index(batch_op.f("ix_waveforms_content_hash"))
    op.drop_table("waveforms")
