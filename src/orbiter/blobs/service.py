"""Blobs and manifests: verified uploads with dedup, ownership, lookups, usage.

Ownership is proof of possession: a user sees an object only after uploading its bytes
(an `ObjectOwner` row). The object itself is stored once (`StoredObject`), whoever sent it.
Rows are written only after the bytes are verified and stored, so a failed upload leaves
neither an object nor a row.

Nothing an upload answers depends on other users: the bytes are always written (the same
bytes under the same key), and `created` says whether the object is new *for the caller*. So
uploading a guess of someone's file (a config with a guessable secret) tells nothing about
whether anybody else stored it.

The database is touched only after the body has been read: a slow 1 GB upload never holds
a connection or (on SQLite) a write lock.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs import presign
from orbiter.blobs.access import (
    grant_ownership,
    owned_hashes,
    parse_off_loop,
    remember_manifest,
    removed_meanwhile,
)
from orbiter.blobs.manifest import Manifest, blob_key, manifest_key
from orbiter.blobs.manifest_checks import MAX_SIZE
from orbiter.blobs.verify import VerifiedBody
from orbiter.core.errors import NotFound
from orbiter.core.kv import KeyValueStore
from orbiter.core.time import utcnow
from orbiter.models import ObjectOwner, StoredObject
from orbiter.storage import BlobStore

Kind = Literal["blob", "manifest"]
MB = 1024 * 1024


def megabytes(size: int) -> float:
    return round(size / MB, 2)


@dataclass(frozen=True)
class Stored:
    hash: str
    size: int
    created: bool  # the caller did not hold the object before


async def upload_blob(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    hash_: str,
    chunks: AsyncIterator[bytes],
    max_bytes: int,
) -> Stored:
    """Stream the body into the store under its hash (verified: else nothing is stored)."""
    body = VerifiedBody(chunks, expected=hash_, max_bytes=max_bytes)
    await store.put_stream(blob_key(hash_), aiter(body))
    return await _record(db, store, user_id=user_id, kind="blob", hash_=hash_, size=body.size)


async def upload_manifest(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    hash_: str,
    chunks: AsyncIterator[bytes],
    max_bytes: int,
    max_entry_bytes: int,
) -> Stored:
    """Verify the hash and the manifest (422 naming bad entries), then store it as sent.

    Entry sizes are bounded by `max_entry_bytes` (the blob size limit) as well.
    """
    body = VerifiedBody(chunks, expected=hash_, max_bytes=max_bytes)
    raw = await body.read_all()
    manifest = await parse_off_loop(raw, max_size=min(max_entry_bytes, MAX_SIZE))
    await store.put_bytes(manifest_key(hash_), raw)
    stored = await _record(db, store, user_id=user_id, kind="manifest", hash_=hash_, size=len(raw))
    remember_manifest(hash_, manifest)
    return stored


async def store_blob(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, data: bytes
) -> Stored:
    """Bytes the server already holds (a file written through /files), stored like an upload."""
    hash_ = await _sha256(data)
    await store.put_bytes(blob_key(hash_), data)
    return await _record(db, store, user_id=user_id, kind="blob", hash_=hash_, size=len(data))


async def store_manifest(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, raw: bytes, manifest: Manifest
) -> Stored:
    """A manifest the server built, already parsed from `raw` by `parse_manifest`."""
    hash_ = await _sha256(raw)
    await store.put_bytes(manifest_key(hash_), raw)
    stored = await _record(db, store, user_id=user_id, kind="manifest", hash_=hash_, size=len(raw))
    remember_manifest(hash_, manifest)
    return stored


async def _sha256(data: bytes) -> str:
    if len(data) > MB:  # hashing releases the GIL: large inputs off the event loop
        return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
    return hashlib.sha256(data).hexdigest()


async def _record(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, kind: Kind, hash_: str, size: int
) -> Stored:
    held = await owned_hashes(db, user_id=user_id, kind=kind, hashes=[hash_])
    # A collection of the same bytes (once nobody owned them) may have deleted what this
    # upload just wrote; then the caller must send them again.
    if not await grant_ownership(db, store, user_id=user_id, kind=kind, hash_=hash_, size=size):
        raise removed_meanwhile()
    return Stored(hash=hash_, size=size, created=not held)


async def owned_object(
    db: AsyncSession, *, user_id: uuid.UUID, kind: Kind, hash_: str
) -> StoredObject:
    """The object if the caller uploaded it; 404 otherwise (never reveals other owners)."""
    stmt = (
        select(StoredObject)
        .join(
            ObjectOwner,
            (ObjectOwner.kind == StoredObject.kind) & (ObjectOwner.hash == StoredObject.hash),
        )
        .where(ObjectOwner.user_id == user_id, StoredObject.kind == kind)
        .where(StoredObject.hash == hash_)
    )
    found = (await db.scalars(stmt)).first()
    if found is None:
        raise NotFound("Manifest not found" if kind == "manifest" else "Blob not found")
    return found


@dataclass(frozen=True)
class ExistsAnswer:
    missing: list[str]
    existing: list[str]


async def blobs_exist(
    db: AsyncSession,
    store: BlobStore,
    kv: KeyValueStore,
    *,
    user_id: uuid.UUID,
    hashes: Sequence[str],
    max_bytes: int,
) -> ExistsAnswer:
    """Which of `hashes` the caller has uploaded (distinct, in request order).

    Presigned uploads finished since are verified and adopted first (see presign.py).
    """
    distinct = list(dict.fromkeys(hashes))
    owned = await owned_hashes(db, user_id=user_id, kind="blob", hashes=distinct)
    if owned:
        # The client will now rely on these without uploading them: restart their gc grace.
        await db.execute(
            update(ObjectOwner)
            .where(
                ObjectOwner.user_id == user_id,
                ObjectOwner.kind == "blob",
                ObjectOwner.hash.in_(sorted(owned)),
            )
            .values(created_at=utcnow())
        )
    owned |= await presign.adopt_staged(
        db,
        store,
        kv,
        user_id=user_id,
        hashes=[h for h in distinct if h not in owned],
        max_bytes=max_bytes,
    )
    return ExistsAnswer(
        missing=[h for h in distinct if h not in owned],
        existing=[h for h in distinct if h in owned],
    )


@dataclass(frozen=True)
class KindUsage:
    count: int
    bytes: int


async def usage(db: AsyncSession, *, user_id: uuid.UUID) -> dict[str, KindUsage]:
    """Count and bytes of the caller's objects by kind."""
    stmt = (
        select(StoredObject.kind, func.count(), func.coalesce(func.sum(StoredObject.size), 0))
        .join(
            ObjectOwner,
            (ObjectOwner.kind == StoredObject.kind) & (ObjectOwner.hash == StoredObject.hash),
        )
        .where(ObjectOwner.user_id == user_id)
        .group_by(StoredObject.kind)
    )
    found = {kind: KindUsage(int(n), int(size)) for kind, n, size in (await db.execute(stmt)).all()}
    return {kind: found.get(kind, KindUsage(0, 0)) for kind in ("blob", "manifest")}
