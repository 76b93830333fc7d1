"""knowledge text ranking: the lexemes a chunk repeats, in their own GIN index (PostgreSQL)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-01 06:20:00

PostgreSQL only: `knowledge_chunks.tsv_repeated`, a generated (stored) tsvector of the
lexemes that occur at two or more positions of the chunk (`knowledge_repeated_lexemes`, the
same `to_tsvector('english', text)` as `tsv`), with the GIN index
`ix_knowledge_chunks_tsv_repeated`. Ranking a common word by `ts_rank_cd` first ranks only
the chunks that repeat one of the query's words (`orbiter.knowledge.fulltext`): a fraction of
the chunks the word matches, with the same answer whenever it is provably the same.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = (
    """CREATE FUNCTION knowledge_repeated_lexemes(body text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT array_to_tsvector(coalesce(array_agg(lexeme), '{}'))
        FROM unnest(to_tsvector('english'::regconfig, body))
        WHERE array_length(positions, 1) > 1
    $$""",
    "ALTER TABLE knowledge_chunks ADD COLUMN tsv_repeated tsvector "
    "GENERATED ALWAYS AS (knowledge_repeated_lexemes(text)) STORED",
    "CREATE INDEX ix_knowledge_chunks_tsv_repeated ON knowledge_chunks USING gin (tsv_repeated)",
)
DOWNGRADE = (
    "DROP INDEX ix_knowledge_chunks_tsv_repeated",
    "ALTER TABLE knowledge_chunks DROP COLUMN tsv_repeated",
    "DROP FUNCTION knowledge_repeated_lexemes(text)",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
