"""app_deployments: deploy pipeline runs of a workspace's files, their logs, and settings

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orbiter.models.base

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = orbiter.models.base.UTCDateTime(timezone=True)
STATUSES = "'queued', 'building', 'deploying', 'live', 'failed', 'stopped'"
TRIGGERS = "'manual', 'workspace', 'conversation', 'auto'"
STREAMS = "'system', 'build', 'app'"


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "app_deployments",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("manifest_hash", sa.String(length=64), nullable=True),
        sa.Column("snapshot_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("provisioned_resources", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("log_count", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC, nullable=True),
        sa.Column("completed_at", UTC, nullable=True),
        sa.Column("stopped_at", UTC, nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_app_deployments_status")),
        sa.CheckConstraint(f"trigger IN ({TRIGGERS})", name=op.f("ck_app_deployments_trigger")),
        _fk("app_deployments", "project_id", "projects", "CASCADE"),
        _fk("app_deployments", "workspace_id", "workspaces", "SET NULL"),
        _fk("app_deployments", "conversation_id", "conversations", "SET NULL"),
        _fk("app_deployments", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_deployments")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_app_deployments_token_hash")),
    )
    op.create_index(
        "ix_app_deployments_workspace_id_created_at_id",
        "app_deployments",
        ["workspace_id", "created_at", "id"],
    )
    op.create_index(
        "ix_app_deployments_conversation_id_created_at_id",
        "app_deployments",
        ["conversation_id", "created_at", "id"],
    )
    op.create_index(
        "ix_app_deployments_project_id_status", "app_deployments", ["project_id", "status"]
    )
    op.create_table(
        "app_deployment_logs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint(f"stream IN ({STREAMS})", name=op.f("ck_app_deployment_logs_stream")),
        _fk("app_deployment_logs", "deployment_id", "app_deployments", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_deployment_logs")),
        sa.UniqueConstraint(
            "deployment_id", "seq", name="uq_app_deployment_logs_deployment_id_seq"
        ),
    )
    op.create_table(
        "deployment_settings",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("auto_deploy", sa.Boolean(), nullable=False),
        sa.Column("runtime_override", sa.String(length=32), nullable=True),
        sa.Column("build_command", sa.Text(), nullable=True),
        sa.Column("start_command", sa.Text(), nullable=True),
        sa.Column("health_check_path", sa.String(length=512), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        _fk("deployment_settings", "workspace_id", "workspaces", "CASCADE"),
        _fk("deployment_settings", "project_id", "projects", "CASCADE"),
        _fk("deployment_settings", "updated_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_deployment_settings")),
    )
    op.create_index(
        op.f("ix_deployment_settings_project_id"), "deployment_settings", ["project_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deployment_settings_project_id"), table_name="deployment_settings")
    op.drop_table("deployment_settings")
    op.drop_table("app_deployment_logs")
    op.drop_index("ix_app_deployments_project_id_status", table_name="app_deployments")
    op.drop_index("ix_app_deployments_conversation_id_created_at_id", table_name="app_deployments")
    op.drop_index("ix_app_deployments_workspace_id_created_at_id", table_name="app_deployments")
    op.drop_table("app_deployments")
