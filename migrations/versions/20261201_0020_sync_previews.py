"""sync_previews: prepared three-way merges of main into a workspace (kept 30 minutes)

Revision ID: 0020
Revises: 0022
Create Date: 2026-12-01 01:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orbiter.models.base

revision: str = "0020"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = orbiter.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_previews",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("base_snapshot_id", sa.Uuid(), nullable=True),
        sa.Column("main_workspace_id", sa.Uuid(), nullable=False),
        sa.Column("base_manifest_hash", sa.String(length=64), nullable=True),
        sa.Column("main_manifest_hash", sa.String(length=64), nullable=True),
        sa.Column("workspace_manifest_hash", sa.String(length=64), nullable=True),
        sa.Column("merged_manifest_hash", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("executed_at", UTC, nullable=True),
        sa.Column("before_snapshot_id", sa.Uuid(), nullable=True),
        sa.Column("previous_last_merged_snapshot_id", sa.Uuid(), nullable=True),
        sa.Column("result_manifest_hash", sa.String(length=64), nullable=True),
        sa.Column("undone_at", UTC, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sync_previews_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_sync_previews_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_sync_previews_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_previews")),
    )
    op.create_index(
        op.f("ix_sync_previews_expires_at"), "sync_previews", ["expires_at"], unique=False
    )
    op.create_index(
        "ix_sync_previews_workspace_id_created_at",
        "sync_previews",
        ["workspace_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_sync_previews_workspace_id_created_at", table_name="sync_previews")
    op.drop_index(op.f("ix_sync_previews_expires_at"), table_name="sync_previews")
    op.drop_table("sync_previews")
