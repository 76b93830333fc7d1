"""Documents' original files in the blob store, addressed by their SHA-256
(`documents/<first two hex>/<hash>`): the same bytes are stored once, however many documents
(in any knowledge base, of any user) name them.

They live beside the users' blobs, not among them: a user's blob collection (`POST
/blobs/gc`) frees what no manifest of theirs needs, which would take a document's original
away. An original goes when the last document naming it is deleted (`release`, after the
deleting transaction commits). An upload always writes its bytes (the same bytes under the
same key), so an upload racing such a delete puts back what it needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orbiter.core.db import transaction
from orbiter.core.errors import PayloadTooLarge
from orbiter.models import Document
from orbiter.storage import BlobStore

READ_CHUNK = 1 << 20


class Upload(Protocol):
    """What the service reads of an uploaded file (Starlette's `UploadFile` is one)."""

    filename: str | None
    size: int | None

    async def read(self, size: int = -1) -> bytes: ...

    async def seek(self, offset: int) -> None: ...


@dataclass(frozen=True)
class Stored:
    hash: str
    size: int


def original_key(hash_: str) -> str:
    return f"documents/{hash_[:2]}/{hash_}"


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The document is larger than the limit of {max_bytes} bytes (ORBITER_MAX_DOCUMENT_BYTES)",
        details={"max_bytes": max_bytes},
    )


async def _chunks(upload: Upload) -> AsyncIterator[bytes]:
    while chunk := await upload.read(READ_CHUNK):
        yield chunk


async def store_original(store: BlobStore, upload: Upload, *, max_bytes: int) -> Stored:
    """Hash the upload (refusing it past `max_bytes`), then write it under its hash."""
    if upload.size is not None and upload.size > max_bytes:
        raise too_large(max_bytes)
    digest, size = hashlib.sha256(), 0
    async for chunk in _chunks(upload):
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes)
        digest.update(chunk)
    await upload.seek(0)
    hash_ = digest.hexdigest()
    await store.put_stream(original_key(hash_), _chunks(upload))
    return Stored(hash=hash_, size=size)


async def read_original(store: BlobStore, hash_: str) -> bytes:
    """The whole file (raises BlobNotFound when it is gone)."""
    stream = await store.open_stream(original_key(hash_))
    try:
        return b"".join([chunk async for chunk in stream])
    finally:
        await stream.aclose()


async def unreferenced(db: AsyncSession, hashes: set[str]) -> set[str]:
    """The hashes no document names any more."""
    if not hashes:
        return set()
    used = await db.scalars(select(Document.content_hash).where(Document.content_hash.in_(hashes)))
    return hashes - set(used)


async def release_unused(
    sessionmaker: async_sessionmaker[AsyncSession], store: BlobStore, hashes: set[str]
) -> None:
    """Delete the originals among `hashes` that no document names (after the deleting
    transaction committed)."""
    if not hashes:
        return
    async with transaction(sessionmaker) as db:
        gone = await unreferenced(db, hashes)
    for hash_ in gone:
        await store.delete(original_key(hash_))
