"""knowledge vectors in pgvector on PostgreSQL, when the extension is available

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-01 06:10:00

PostgreSQL only, and only when `pg_available_extensions` lists `vector` (pgvector) and this
role may create it (else nothing changes and vector search keeps its numpy path; never a
failure): `CREATE EXTENSION vector`; the function `knowledge_vector(bytea)`, which reads the
float32 bytes `knowledge_chunks.embedding` holds (little-endian, as
`orbiter.knowledge.embeddings.to_bytes` writes them) as a `vector`, bit for bit; and the table
`knowledge_chunk_vectors`, one row per embedded chunk (its knowledge base, document, model,
length and vector), backfilled here and kept by triggers on `knowledge_chunks` in the writing
transaction, whoever writes: chunks inserted with vectors (a statement trigger, once over all
the rows an INSERT wrote), or a chunk's vector, model or length updated (a row trigger) (the indexing and re-embedding jobs write only `knowledge_chunks`); a deleted chunk
takes its row along (foreign key, cascade). `chunks_version` (migration 0027) moves exactly as
before. `orbiter.knowledge.pgvector` scans it.

A table of its own, not a column of the chunks: the scan reads only vectors (about 160 MB
for 100,000 chunks of 384 dimensions, stored inline: storage `main`), and full-text search
does not read past them. No vector index: the search is an exact scan (an HNSW index is
approximate, and filtered to one knowledge base it can miss rows, so its ranking would not be
the numpy scan's); a B-tree on (knowledge base, model, length) picks the rows.

Downgrade drops the table, triggers and functions and leaves the extension (others may use it).
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
# vectors hold no infinity or NaN.) PL/pgSQL, not SQL: it keeps the query's plan for the session,
# where an SQL function called once a row from a trigger was planned again each time (8 ms).
FUNCTION = """
CREATE FUNCTION knowledge_vector(bytes bytea) RETURNS {schema}.vector
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE plpgsql AS $$
BEGIN
RETURN (SELECT CAST(array_agg(
    CASE WHEN e = 0 THEN m * 2.0::float8 ^ -149 ELSE (m + 8388608) * 2.0::float8 ^ (e - 150) END
    * (1 - 2 * sign) ORDER BY i) AS real[])::{schema}.vector
FROM (
    SELECT i,
        get_byte(bytes, 4 * i + 3) >> 7 AS sign,
        ((get_byte(bytes, 4 * i + 3) & 127) << 1) | (get_byte(bytes, 4 * i + 2) >> 7) AS e,
        ((get_byte(bytes, 4 * i + 2) & 127) << 16) | (get_byte(bytes, 4 * i + 1) << 8)
            | get_byte(bytes, 4 * i) AS m
    FROM generate_series(0, length(bytes) / 4 - 1) AS i
) AS words);
END $$
"""
TABLE = """
CREATE TABLE knowledge_chunk_vectors (
    chunk_id integer PRIMARY KEY REFERENCES knowledge_chunks (id) ON DELETE CASCADE,
    knowledge_base_id uuid NOT NULL,
    document_id uuid NOT NULL,
    model varchar(200) NOT NULL,
    dimensions integer NOT NULL,
    embedding {schema}.vector NOT NULL
)
"""
STATEMENTS = (
    "ALTER TABLE knowledge_chunk_vectors ALTER COLUMN embedding SET STORAGE MAIN",
    "CREATE INDEX ix_knowledge_chunk_vectors_knowledge_base_id_model "
    "ON knowledge_chunk_vectors (knowledge_base_id, model, dimensions)",
    """CREATE FUNCTION knowledge_vector_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.embedding IS NULL OR NEW.embedding_model IS NULL
            OR NEW.embedding_dimensions IS NULL THEN
        DELETE FROM knowledge_chunk_vectors WHERE chunk_id = NEW.id;
    ELSE
        INSERT INTO knowledge_chunk_vectors
            (chunk_id, knowledge_base_id, document_id, model, dimensions, embedding)
        VALUES (NEW.id, NEW.knowledge_base_id, NEW.document_id, NEW.embedding_model,
                NEW.embedding_dimensions, knowledge_vector(NEW.embedding))
        ON CONFLICT (chunk_id) DO UPDATE SET model = EXCLUDED.model,
            dimensions = EXCLUDED.dimensions, embedding = EXCLUDED.embedding;
    END IF;
    RETURN NULL;
END $$""",
    """CREATE FUNCTION knowledge_vector_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO knowledge_chunk_vectors
        (chunk_id, knowledge_base_id, document_id, model, dimensions, embedding)
    SELECT id, knowledge_base_id, document_id, embedding_model, embedding_dimensions,
        knowledge_vector(embedding)
    FROM inserted
    WHERE embedding IS NOT NULL AND embedding_model IS NOT NULL
        AND embedding_dimensions IS NOT NULL;
    RETURN NULL;
END $$""",
    # Once per statement over all its rows (a row trigger took ten times as long a chunk).
    "CREATE TRIGGER knowledge_vector_insert AFTER INSERT ON knowledge_chunks "
    "REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT "
    "EXECUTE FUNCTION knowledge_vector_insert()",
    "CREATE TRIGGER knowledge_vector_update "
    "AFTER UPDATE OF embedding, embedding_model, embedding_dimensions ON knowledge_chunks "
    "FOR EACH ROW EXECUTE FUNCTION knowledge_vector_keep()",
    """INSERT INTO knowledge_chunk_vectors
    (chunk_id, knowledge_base_id, document_id, model, dimensions, embedding)
SELECT id, knowledge_base_id, document_id, embedding_model, embedding_dimensions,
    knowledge_vector(embedding)
FROM knowledge_chunks
WHERE embedding IS NOT NULL AND embedding_model IS NOT NULL
    AND embedding_dimensions IS NOT NULL""",
)
DOWNGRADE = (
    "DROP TRIGGER IF EXISTS knowledge_vector_insert ON knowledge_chunks",
    "DROP TRIGGER IF EXISTS knowledge_vector_update ON knowledge_chunks",
    "DROP TABLE IF EXISTS knowledge_chunk_vectors",
    "DROP FUNCTION IF EXISTS knowledge_vector_keep()",
    "DROP FUNCTION IF EXISTS knowledge_vector_insert()",
    "DROP FUNCTION IF EXISTS knowledge_vector(bytea)",
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
    op.execute(TABLE.format(schema=schema))
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWNGRADE:
        op.execute(statement)
