"""messages.cost and provider_type, ix_messages_usage, and the conversation replies outside
runs added to usage_rollups (kind "chat") for /monitoring/costs

Revision ID: 0018
Revises: 0011
Create Date: 2026-12-01 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from orbiter.monitoring.rollup import chat_backfill_sql
from orbiter.runs.prices import cost

revision: str = "0018"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REPLY_USAGE = "(run_id IS NULL) AND ((prompt_tokens > 0) OR (completion_tokens > 0))"
messages = sa.table(
    "messages",
    sa.column("id", sa.Uuid()),
    sa.column("provider_id", sa.Uuid()),
    sa.column("model", sa.String()),
    sa.column("prompt_tokens", sa.Integer()),
    sa.column("completion_tokens", sa.Integer()),
    sa.column("run_id", sa.Uuid()),
    sa.column("cost", sa.Float()),
    sa.column("provider_type", sa.String()),
)
providers = sa.table(
    "llm_providers",
    sa.column("id", sa.Uuid()),
    sa.column("type", sa.String()),
    sa.column("prices", sa.JSON()),
)


def upgrade() -> None:
    # Plain ALTER TABLE, no batch copy: on SQLite a copy would drop the table's search triggers.
    op.add_column("messages", sa.Column("cost", sa.Float(), nullable=True))
    op.add_column("messages", sa.Column("provider_type", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_messages_usage",
        "messages",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text(REPLY_USAGE),
        sqlite_where=sa.text(REPLY_USAGE),
    )
    _price_existing_replies()
    op.execute(chat_backfill_sql(op.get_bind().dialect.name))


def _price_existing_replies() -> None:
    """Each reply outside a run with tokens gets its provider's type and price, as new ones do."""
    bind = op.get_bind()
    m, p = messages, providers
    rows = bind.execute(
        sa.select(m.c.id, m.c.model, m.c.prompt_tokens, m.c.completion_tokens, p.c.type, p.c.prices)
        .select_from(m.outerjoin(p, p.c.id == m.c.provider_id))
        .where(m.c.run_id.is_(None), sa.or_(m.c.prompt_tokens > 0, m.c.completion_tokens > 0))
    ).all()
    for row in rows:
        spent = cost(
            row.type, row.model, row.prompt_tokens or 0, row.completion_tokens or 0, row.prices
        )
        bind.execute(m.update().where(m.c.id == row.id).values(cost=spent, provider_type=row.type))


def downgrade() -> None:
    op.execute("DELETE FROM usage_rollups WHERE kind = 'chat'")
    op.drop_index("ix_messages_usage", table_name="messages")
    op.execute("ALTER TABLE messages DROP COLUMN provider_type")
    op.execute("ALTER TABLE messages DROP COLUMN cost")
