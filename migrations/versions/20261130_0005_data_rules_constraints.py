"""data rules as constraints: one main workspace, one personal project, one default provider;
CHECKs on every enum-like column; messages.updated_at; drop device_authorizations.scope

Revision ID: 0005
Revises: 0004_invitations
Create Date: 2026-11-30 09:00:00

Rows that broke a rule before it was enforced are mended first (the oldest row keeps the flag),
so the upgrade never fails on old data. On SQLite the CHECKs need batch mode (the table is
copied); env.py turns foreign keys off for that, so dropping the old copy cascades nowhere.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import orbiter.models.base

revision: str = "0005"
down_revision: str | None = "0004_invitations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> column -> allowed values (frozen here: later changes need their own migration)
CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "users": {"plan": ("free", "pro", "team")},
    "project_members": {"role": ("viewer", "editor", "owner")},
    "project_invitations": {"role": ("viewer", "editor", "owner")},
    "device_authorizations": {"status": ("pending", "approved", "denied", "consumed")},
    "llm_providers": {"type": ("openai", "anthropic", "openai_compatible", "ollama")},
    "messages": {
        "role": ("user", "assistant", "system", "tool"),
        "status": ("complete", "streaming", "incomplete", "error"),
    },
    "stored_objects": {"kind": ("blob", "manifest")},
    "object_owners": {"kind": ("blob", "manifest")},
    "drift_reports": {"kind": ("reported", "compare")},
}
# index name -> (table, grouping column, flag column)
ONLY_ONE = {
    "uq_workspaces_one_main": ("workspaces", "project_id", "is_main"),
    "uq_projects_one_personal": ("projects", "created_by", "is_personal"),
    "uq_llm_providers_one_default": ("llm_providers", "user_id", "is_default"),
}


def _mend_duplicates(table: str, group: str, flag: str) -> None:
    """Keep the flag on the oldest row of each group; clear it on the others."""
    op.execute(
        f"UPDATE {table} SET {flag} = false WHERE {flag} = true AND EXISTS ("
        f"SELECT 1 FROM {table} AS older WHERE older.{group} = {table}.{group} "
        f"AND older.{flag} = true AND (older.created_at < {table}.created_at "
        f"OR (older.created_at = {table}.created_at AND older.id < {table}.id)))"
    )


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(
            sa.Column("updated_at", orbiter.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE messages SET updated_at = created_at")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.alter_column(
            "updated_at",
            existing_type=orbiter.models.base.UTCDateTime(timezone=True),
            nullable=False,
        )
    with op.batch_alter_table("device_authorizations") as batch_op:
        batch_op.drop_column("scope")
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for column, values in columns.items():
                listed = ", ".join(f"'{value}'" for value in values)
                batch_op.create_check_constraint(
                    op.f(f"ck_{table}_{column}"), f"{column} IN ({listed})"
                )
    for name, (table, group, flag) in ONLY_ONE.items():
        _mend_duplicates(table, group, flag)
        where = sa.text(f"{flag} = true")
        op.create_index(
            name, table, [group], unique=True, sqlite_where=where, postgresql_where=where
        )


def downgrade() -> None:
    for name, (table, _, _) in ONLY_ONE.items():
        op.drop_index(name, table_name=table)
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
    with op.batch_alter_table("device_authorizations") as batch_op:
        batch_op.add_column(sa.Column("scope", sa.String(length=500), nullable=True))
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("updated_at")
