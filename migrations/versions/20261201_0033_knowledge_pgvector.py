"""knowledge vectors in pgvector on PostgreSQL, when the extension is available

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-01 06:10:00

PostgreSQL only, and only when `pg_available_extensions` lists `vector` (pgvector) and this
role may create it (else nothing changes and vector search keeps its numpy path; never a
failure): `CREATE EXTENSION vector`, the function `knowledge_vector(bytea)` that reads the
float32 bytes `knowledge_chunks.embedding` holds (little-endian, as
`orbiter.knowledge.embeddings.to_bytes` writes them) as a `vector`, bit for bit, and the
generated (stored) column `knowledge_chunks.embedding_vector` of it. Being generated, the
column is filled for the rows there now (this migration rewrites the table) and kept equal
to `embedding` by every insert and update, whoever writes: the indexing and re-embedding
jobs write only `embedding`, a deleted chunk takes its vector along, and `chunks_version`
(migration 0027) moves exactly as before. `orbiter.knowledge.pgvector` searches it.
No index: the search is an exact scan (an HNSW index is approximate, and filtered to one
knowledge base it can miss rows, so its ranking would not be the numpy scan's).

Downgrade drops the column and the function and leaves the extension (others may use it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AVAILABLE = "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
SCHEMA = "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'vector'"
# Each 4 bytes (little-endian) as the float32 they encode: sign, 8 exponent bits, 23 mantissa
# bits; exact in float8, then exact in real. Zero exponent: zero or a subnormal. (Unit
# vectors hold no infinity or NaN.)
FUNCTION = """
CREATE FUNCTION knowledge_vector(bytes bytea) RETURNS {schema}.vector
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql AS $$
SELECT CAST(array_agg(
    CASE WHEN e = 0 THEN m * 2.0::float8 ^ -149 ELSE (m + 8388608) * 2.0::float8 ^ (e - 150) END
    * (1 - 2 * sign) ORDER BY i) AS real[])::{schema}.vector
FROM (
    SELECT i,
        get_byte(bytes, 4 * i + 3) >> 7 AS sign,
        ((get_byte(bytes, 4 * i + 3) & 127) << 1) | (get_byte(bytes, 4 * i + 2) >> 7) AS e,
        ((get_byte(bytes, 4 * i + 2) & 127) << 16) | (get_byte(bytes, 4 * i + 1) << 8)
            | get_byte(bytes, 4 * i) AS m
    FROM generate_series(0, length(bytes) / 4 - 1) AS i
) AS words
$$
"""
COLUMN = (
    "ALTER TABLE knowledge_chunks ADD COLUMN embedding_vector {schema}.vector "
    "GENERATED ALWAYS AS (knowledge_vector(embedding)) STORED"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.scalar(sa.text(AVAILABLE)) is None:
        return
    try:
        with bind.begin_nested():  # a savepoint: without the privilege, nothing changes
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
    except sa.exc.DBAPIError:
        return
    schema = bind.scalar(sa.text(SCHEMA))
    op.execute(FUNCTION.format(schema=schema))
    op.execute(COLUMN.format(schema=schema))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE knowledge_chunks DROP COLUMN IF EXISTS embedding_vector")
    op.execute("DROP FUNCTION IF EXISTS knowledge_vector(bytea)")
