"""atlas_concepts.embedding, embedding_model and embedding_dimensions (atlas/index?embed=true)

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-01 01:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("atlas_concepts", sa.Column("embedding", sa.LargeBinary(), nullable=True))
    op.add_column(
        "atlas_concepts", sa.Column("embedding_model", sa.String(length=200), nullable=True)
    )
    op.add_column("atlas_concepts", sa.Column("embedding_dimensions", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("atlas_concepts") as batch:
        batch.drop_column("embedding_dimensions")
        batch.drop_column("embedding_model")
        batch.drop_column("embedding")
