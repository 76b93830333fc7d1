"""sync_previews.combined_manifest_hash: the LLM's proposed `combined` versions, a GC root

Revision ID: 0030
Revises: 0020
Create Date: 2026-12-01 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sync_previews", sa.Column("combined_manifest_hash", sa.String(length=64), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("sync_previews") as batch:
        batch.drop_column("combined_manifest_hash")
