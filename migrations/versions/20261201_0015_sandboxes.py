"""sandboxes: a user's isolated work dir on one host

Revision ID: 0015
Revises: 0018
Create Date: 2026-12-01 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orbiter.models.base

revision: str = "0015"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandboxes",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("cwd", sa.String(length=4096), nullable=False),
        sa.Column("expires_at", orbiter.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", orbiter.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sandboxes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandboxes")),
    )
    op.create_index(op.f("ix_sandboxes_expires_at"), "sandboxes", ["expires_at"], unique=False)
    op.create_index(op.f("ix_sandboxes_user_id"), "sandboxes", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sandboxes_user_id"), table_name="sandboxes")
    op.drop_index(op.f("ix_sandboxes_expires_at"), table_name="sandboxes")
    op.drop_table("sandboxes")
