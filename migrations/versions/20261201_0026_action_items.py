"""action items: analyses of workspaces' files, their findings, and dismissals

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01 03:10:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import orbiter.models.base

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = orbiter.models.base.UTCDateTime(timezone=True)


def _owned(table: str) -> list[Any]:
    return [
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f(f"fk_{table}_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f(f"fk_{table}_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "action_item_analyses",
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        *_owned("action_item_analyses"),
        sa.UniqueConstraint(
            "workspace_id", "manifest_hash", name="uq_action_item_analyses_workspace_id"
        ),
    )
    op.create_table(
        "action_items",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("manifest_hash", sa.String(length=64), nullable=False),
        *_owned("action_items"),
        sa.UniqueConstraint("workspace_id", "fingerprint", name="uq_action_items_workspace_id"),
    )
    op.create_index("ix_action_items_project_id", "action_items", ["project_id"], unique=False)
    op.create_table(
        "action_item_dismissals",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("dismissed_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_action_item_dismissals_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dismissed_by"],
            ["users.id"],
            name=op.f("fk_action_item_dismissals_dismissed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_action_item_dismissals")),
    )
    op.create_index(
        op.f("ix_action_item_dismissals_project_id"),
        "action_item_dismissals",
        ["project_id"],
        unique=False,
    )


    op.create_table(
        "action_item_runs",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.Column("base_manifest_hash", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("patch", sa.Text(), nullable=True),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("applied_at", UTC, nullable=True),
        sa.Column("applied_manifest_hash", sa.String(length=64), nullable=True),
        *_owned("action_item_runs"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_action_item_runs_run_id_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_action_item_runs_created_by_users"),
            ondelete="SET NULL",
        ),
    )
    op.create_index(
        "ix_action_item_runs_item_id_created_at",
        "action_item_runs",
        ["item_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_action_item_runs_item_id_created_at", table_name="action_item_runs")
    op.drop_table("action_item_runs")
    op.drop_index(op.f("ix_action_item_dismissals_project_id"), table_name="action_item_dismissals")
    op.drop_table("action_item_dismissals")
    op.drop_index("ix_action_items_project_id", table_name="action_items")
    op.drop_table("action_items")
    op.drop_table("action_item_analyses")
