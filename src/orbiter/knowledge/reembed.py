"""Re-embedding after a user's embedding model changed (`orbiter.providers.embedding` sends
`EMBEDDING_CHANGED_JOB` after the provider change commits).

The user's documents are embedded with the user's model (the indexing job uses the
uploader's). When that model or its dimensions change, `handle_embedding_changed` sends one
`knowledge.reembed` job per knowledge base holding chunks of the user's documents that another
model (or another length) embedded; each re-embeds those chunks in batches of
`ORBITER_EMBEDDING_BATCH_SIZE`, a transaction per batch, walking chunk ids upwards so a provider
that answers another length than asked cannot loop it. Until a chunk is re-embedded, search
reads it by full text only (its vector has another model or length, see `search.py`).

Chunks that were never embedded (indexed before any model was set) are left as they are.
A provider failure stops the job (logged): those chunks stay full-text until the next change.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, select, update

from orbiter.core.db import transaction
from orbiter.core.errors import AppError
from orbiter.knowledge.embeddings import Embedder, embedder_for, to_bytes
from orbiter.models import Document, KnowledgeChunk
from orbiter.queue import Job
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.knowledge")

REEMBED_JOB = "knowledge.reembed"
PROBE = "dimensions"  # embedded once to learn the model's length when none is configured

chunks: Table = KnowledgeChunk.__table__  # type: ignore[assignment]
SET_VECTOR = (
    update(chunks)
    .where(chunks.c.id == bindparam("chunk_id"))
    .values(
        embedding=bindparam("vector"),
        embedding_model=bindparam("model"),
        embedding_dimensions=bindparam("length"),
    )
)


def reembed_job(knowledge_base_id: uuid.UUID, user_id: uuid.UUID) -> Job:
    payload = {"knowledge_base_id": str(knowledge_base_id), "user_id": str(user_id)}
    return Job(REEMBED_JOB, payload)


def stale(model: str, dimensions: int) -> ColumnElement[bool]:
    """A chunk embedded by another model, or at another length."""
    return KnowledgeChunk.embedding.is_not(None) & (
        (KnowledgeChunk.embedding_model != model)
        | (KnowledgeChunk.embedding_dimensions != dimensions)
    )


async def _target(resources: Resources, user_id: uuid.UUID) -> tuple[Embedder, int] | None:
    async with transaction(resources.sessionmaker) as db:
        embedder = await embedder_for(db, resources, user_id)
    if embedder is None:
        return None
    if embedder.dimensions is not None:
        return embedder, embedder.dimensions
    [probe] = await embedder.embed([PROBE])
    return embedder, int(probe.shape[0])


async def handle_embedding_changed(resources: Resources, payload: dict[str, Any]) -> None:
    user_id = uuid.UUID(str(payload["user_id"]))
    try:
        target = await _target(resources, user_id)
    except AppError as exc:
        logger.warning("re-embedding for user %s: %s", user_id, exc.message)
        return
    if target is None:
        return
    async with transaction(resources.sessionmaker) as db:
        kb_ids = (
            await db.scalars(
                select(KnowledgeChunk.knowledge_base_id)
                .distinct()
                .join(Document, Document.id == KnowledgeChunk.document_id)
                .where(Document.created_by == user_id, stale(target[0].model, target[1]))
            )
        ).all()
    for kb_id in kb_ids:
        await resources.queue.send(reembed_job(kb_id, user_id))


async def handle_reembed(resources: Resources, payload: dict[str, Any]) -> None:
    kb_id = uuid.UUID(str(payload["knowledge_base_id"]))
    user_id = uuid.UUID(str(payload["user_id"]))
    try:
        await reembed(resources, kb_id, user_id)
    except AppError as exc:  # the provider's failure: those chunks stay full-text
        logger.warning("re-embedding knowledge base %s stopped: %s", kb_id, exc.message)


async def reembed(resources: Resources, kb_id: uuid.UUID, user_id: uuid.UUID) -> int:
    """Re-embed the user's stale chunks in the knowledge base; returns how many."""
    target = await _target(resources, user_id)
    if target is None:
        return 0
    embedder, dimensions = target
    mine = (KnowledgeChunk.knowledge_base_id == kb_id) & (Document.created_by == user_id)
    last, done = 0, 0
    while True:
        async with transaction(resources.sessionmaker) as db:
            rows = (
                await db.execute(
                    select(KnowledgeChunk.id, KnowledgeChunk.text)
                    .join(Document, Document.id == KnowledgeChunk.document_id)
                    .where(mine, KnowledgeChunk.id > last, stale(embedder.model, dimensions))
                    .order_by(KnowledgeChunk.id)
                    .limit(resources.settings.embedding_batch_size)
                )
            ).all()
        if not rows:
            break
        vectors = await embedder.embed([text for _, text in rows])
        params = [
            {
                "chunk_id": chunk_id,
                "vector": to_bytes(vectors[i]),
                "model": embedder.model,
                "length": int(vectors.shape[1]),
            }
            for i, (chunk_id, _) in enumerate(rows)
        ]
        async with transaction(resources.sessionmaker) as db:
            await (await db.connection()).execute(SET_VECTOR, params)
        last, done = rows[-1][0], done + len(rows)
    await _label_documents(resources, kb_id, user_id, embedder.model, dimensions)
    return done


async def _label_documents(
    resources: Resources, kb_id: uuid.UUID, user_id: uuid.UUID, model: str, dimensions: int
) -> None:
    """Documents whose chunks all carry the model now say so (`embedding_model`)."""
    left = select(KnowledgeChunk.id).where(
        KnowledgeChunk.document_id == Document.id, stale(model, dimensions)
    )
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Document)
            .where(
                Document.knowledge_base_id == kb_id,
                Document.created_by == user_id,
                Document.embedding_model.is_not(None),
                Document.embedding_model != model,
                ~left.exists(),
            )
            .values(embedding_model=model)
            .execution_options(synchronize_session=False)
        )
