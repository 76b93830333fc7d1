"""Indexing a document (the `knowledge.index` job) and recovering lost indexing (a tick).

The job claims a `pending` document (`processing`, one more attempt; a second delivery of
the job finds nothing to claim), reads its original from the blob store, extracts the text
and splits it (in a helper process, offload.py), then writes the chunks batch by batch (each batch embedded first
when the uploader has an embedding model), a transaction a batch committing `chunks_done` so
progress shows: the first batch's also stores the text (replacing the chunks of an earlier
attempt), the last's makes the document `ready`; a document of one batch (up to 500 chunks
without embeddings) takes two transactions in all, the claim and that one. Each transaction
is one call of `core.db.run_write` (on SQLite a single trip to a worker thread); the claim
also says whether the uploader has an embedding model, so a job without one opens no other
session. It ends `ready`, or `failed` with the reason: an extraction problem (encrypted or
corrupt PDF, not UTF-8, no text), the provider's error, the original missing; anything
unexpected is logged and reported generically. Every write after the claim names the
attempt, so a worker that lost its document to the recovery tick changes nothing.

`recover_documents` (every `RECOVER_EVERY_SECONDS`): a document `processing` for longer than
`ORBITER_DOCUMENT_STALE_SECONDS` lost its worker (killed, out of memory): it goes back to
`pending` and its job is sent again, or, after `MAX_ATTEMPTS`, `failed`. A document left
`pending` for `RESEND_AFTER_SECONDS` (its job was lost) has its job sent again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, insert, select, update

from orbiter.core.db import run_write, transaction
from orbiter.core.errors import AppError
from orbiter.core.time import utcnow
from orbiter.knowledge import offload, reembed
from orbiter.knowledge.embeddings import Embedder, embedder_for, to_bytes
from orbiter.knowledge.extract import ExtractionFailed
from orbiter.knowledge.offload import offloaded
from orbiter.knowledge.originals import read_original
from orbiter.knowledge.prepare import text_and_chunks
from orbiter.models import Document, KnowledgeBase, KnowledgeChunk, LlmProvider
from orbiter.providers.embedding import EMBEDDING_CHANGED_JOB
from orbiter.queue import Job
from orbiter.runtime.resources import Resources
from orbiter.storage import BlobNotFound

logger = logging.getLogger("orbiter.knowledge")

INDEX_JOB = "knowledge.index"
MAX_ATTEMPTS = 3
RECOVER_EVERY_SECONDS = 10.0
RESEND_AFTER_SECONDS = 30.0
BATCH = 500
T = TypeVar("T")
LOST = "Indexing stopped {n} times (its worker was lost); upload the file again to retry"


def register_jobs(resources: Resources) -> None:
    """Indexing, and re-embedding when a user's embedding model changes (`reembed.py`)."""
    queue = resources.queue
    queue.register(INDEX_JOB, partial(handle_index, resources))
    offload.warm()
    queue.register(EMBEDDING_CHANGED_JOB, partial(reembed.handle_embedding_changed, resources))
    queue.register(reembed.REEMBED_JOB, partial(reembed.handle_reembed, resources))


_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def _write(resources: Resources, work: Callable[[Connection], T]) -> T:
    """One write transaction of `work` (`run_write`: on SQLite in one worker-thread hop). On
    SQLite the indexing jobs of this process also write one at a time: SQLite takes one
    writer at a time and makes the others sleep and try again (sleeps growing to 100 ms), so
    many jobs writing at once left the database idle while they slept; here they queue and
    each starts as soon as the one before commits."""
    if resources.engine.dialect.name != "sqlite":
        return await run_write(resources.engine, work)
    gate = _GATES.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with gate:
        return await run_write(resources.engine, work)


def index_job(document_id: uuid.UUID) -> Job:
    return Job(INDEX_JOB, {"document_id": str(document_id)})


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    attempt: int
    file_type: str
    content_hash: str
    created_by: uuid.UUID | None
    knowledge_base_id: uuid.UUID
    chunk_size: int
    chunk_overlap: int
    embeds: bool  # the uploader had a provider with an embedding model when it was claimed


async def handle_index(resources: Resources, payload: dict[str, Any]) -> None:
    import os

    if os.environ.get("KSPEED_NOJOB"):
        return
    import os

    if os.environ.get("KSPEED_NOJOB"):
        return
    await index_document(resources, uuid.UUID(str(payload["document_id"])))


async def index_document(resources: Resources, document_id: uuid.UUID) -> None:
    claimed = await _claim(resources, document_id)
    if claimed is None:
        return
    try:
        await _index(resources, claimed)
    except ExtractionFailed as exc:
        await _fail(resources, claimed, exc.reason)
    except BlobNotFound:
        await _fail(resources, claimed, "The original file is missing; upload it again")
    except AppError as exc:  # the embedding provider's failure (502), its absence...
        await _fail(resources, claimed, exc.message)
    except Exception as exc:
        logger.exception("indexing document %s failed", document_id)
        await _fail(resources, claimed, f"Indexing failed unexpectedly ({type(exc).__name__})")


async def _claim(resources: Resources, document_id: uuid.UUID) -> Claimed | None:
    return await _write(resources, partial(_claim_in, document_id))


def _claim_in(document_id: uuid.UUID, db: Connection) -> Claimed | None:
    row = db.execute(
        update(Document)
        .where(Document.id == document_id, Document.status == "pending")
        .values(
            status="processing",
            attempts=Document.attempts + 1,
            processing_started_at=utcnow(),
            error=None,
            chunks_total=0,
            chunks_done=0,
        )
        .returning(
            Document.attempts,
            Document.file_type,
            Document.content_hash,
            Document.created_by,
            Document.knowledge_base_id,
        )
    ).one_or_none()
    if row is None:
        return None
    attempt, file_type, content_hash, created_by, kb_id = row
    size, overlap = db.execute(
        select(KnowledgeBase.chunk_size, KnowledgeBase.chunk_overlap).where(
            KnowledgeBase.id == kb_id
        )
    ).one()
    embeds = created_by is not None and db.scalar(_embedding_model_of(created_by)) is not None
    return Claimed(
        document_id, attempt, file_type, content_hash, created_by, kb_id, size, overlap, embeds
    )


def _embedding_model_of(user_id: uuid.UUID) -> Any:
    """Whether the user has an embedding model (`embedder_for` then says which), read in the
    claim's transaction: without one the job needs no session of its own to find out."""
    return (
        select(LlmProvider.id)
        .where(LlmProvider.user_id == user_id, LlmProvider.embedding_model.is_not(None))
        .limit(1)
    )


def _ours(claimed: Claimed) -> Any:
    return (
        (Document.id == claimed.id)
        & (Document.status == "processing")
        & (Document.attempts == claimed.attempt)
    )


async def _index(resources: Resources, claimed: Claimed) -> None:
    data = await read_original(resources.blobs, claimed.content_hash)
    text, chunks = await offloaded(
        text_and_chunks, claimed.file_type, data, claimed.chunk_size, claimed.chunk_overlap
    )
    del data
    embedder = None
    if claimed.embeds:
        async with transaction(resources.sessionmaker) as db:
            embedder = await embedder_for(db, resources, claimed.created_by)
    size = resources.settings.embedding_batch_size if embedder else BATCH
    for start in range(0, max(len(chunks), 1), size):
        batch = Batch(text, len(chunks), chunks[start : start + size], start)
        if not await _write_batch(resources, claimed, embedder, batch):
            return  # no longer ours (deleted, or taken back by the recovery tick)


@dataclass(frozen=True)
class Batch:
    text: str  # the document's
    total: int  # chunks of the document
    chunks: list[str]
    start: int  # the position of the first

    @property
    def first(self) -> bool:
        return self.start == 0

    @property
    def last(self) -> bool:
        return self.start + len(self.chunks) >= self.total


def _progress(embedder: Embedder | None, batch: Batch) -> dict[str, Any]:
    """The document's new values: its text with the first batch."""
    values: dict[str, Any] = {"chunks_done": batch.start + len(batch.chunks)}
    if batch.first:
        values |= {
            "text": batch.text,
            "chunks_total": batch.total,
            "embedding_model": embedder.model if embedder else None,
        }
    return values


async def _write_batch(
    resources: Resources, claimed: Claimed, embedder: Embedder | None, batch: Batch
) -> bool:
    """One transaction a batch (the first also replaces any chunks of an earlier attempt, the
    last also makes the document `ready`); False when the document is no longer ours."""
    texts = batch.chunks
    vectors = await embedder.embed(texts) if embedder is not None and texts else None
    rows = [
        {
            "document_id": claimed.id,
            "knowledge_base_id": claimed.knowledge_base_id,
            "position": batch.start + i,
            "text": chunk,
            "embedding": None if vectors is None else to_bytes(vectors[i]),
            "embedding_model": None if embedder is None else embedder.model,
            "embedding_dimensions": None if vectors is None else int(vectors.shape[1]),
        }
        for i, chunk in enumerate(texts)
    ]
    progress = _progress(embedder, batch)
    return await _write(resources, partial(_write_batch_in, claimed, batch, progress, rows))


def _write_batch_in(
    claimed: Claimed,
    batch: Batch,
    progress: dict[str, Any],
    rows: list[dict[str, Any]],
    db: Connection,
) -> bool:
    ours = db.execute(update(Document).where(_ours(claimed)).values(**progress)).rowcount
    if not ours:
        return False
    if batch.first:
        db.execute(delete(KnowledgeChunk).where(KnowledgeChunk.document_id == claimed.id))
    if rows:
        db.execute(insert(KnowledgeChunk), rows)
    if batch.last:  # last: it bumps the knowledge base's chunks_version (a row lock)
        db.execute(
            update(Document)
            .where(Document.id == claimed.id)
            .values(status="ready", indexed_at=utcnow(), processing_started_at=None)
        )
    return True


async def _fail(resources: Resources, claimed: Claimed, reason: str) -> None:
    await _write(resources, partial(_fail_in, claimed, reason))


def _fail_in(claimed: Claimed, reason: str, db: Connection) -> None:
    db.execute(
        delete(KnowledgeChunk).where(
            KnowledgeChunk.document_id == claimed.id,
            select(Document.id).where(_ours(claimed)).exists(),
        )
    )
    db.execute(
        update(Document)
        .where(_ours(claimed))
        .values(status="failed", error=reason, processing_started_at=None, chunks_done=0)
    )


async def recover_documents(resources: Resources) -> int:
    """Take back documents whose worker was lost, send lost jobs again; returns how many."""
    now = utcnow()
    stale = now - timedelta(seconds=resources.settings.document_stale_seconds)
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Document)
            .where(
                Document.status == "processing",
                Document.processing_started_at < stale,
                Document.attempts >= MAX_ATTEMPTS,
            )
            .values(status="failed", error=LOST.format(n=MAX_ATTEMPTS), processing_started_at=None)
        )
        taken_back = (
            await db.scalars(
                update(Document)
                .where(Document.status == "processing", Document.processing_started_at < stale)
                .values(status="pending", processing_started_at=None)
                .returning(Document.id)
            )
        ).all()
        resend = now - timedelta(seconds=RESEND_AFTER_SECONDS)
        lost = (
            await db.scalars(
                select(Document.id)
                .where(Document.status == "pending", Document.updated_at < resend)
                .limit(BATCH)
            )
        ).all()
        if lost:  # touched, so the next tick waits again before sending them once more
            await db.execute(update(Document).where(Document.id.in_(lost)).values(updated_at=now))
    ids = [*taken_back, *lost]
    for document_id in ids:
        await resources.queue.send(index_job(document_id))
    return len(ids)
