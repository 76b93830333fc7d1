"""Who holds which object, and reading a stored manifest. Other domains use these."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.manifest import (
    EMPTY_MANIFEST,
    Manifest,
    blob_key,
    manifest_key,
    parse_manifest,
)
from orbiter.blobs.manifest_cache import ManifestCache
from orbiter.blobs.manifest_checks import MAX_SIZE
from orbiter.core.db import upsert_insert
from orbiter.core.errors import Conflict, ValidationFailed
from orbiter.core.time import utcnow
from orbiter.models import ObjectOwner, StoredObject
from orbiter.storage import BlobNotFound, BlobStore

logger = logging.getLogger(__name__)

QUERY_BATCH = 500  # bound on IN (...) lists
PARSE_IN_THREAD_BYTES = 64 * 1024  # larger manifests are parsed off the event loop

_manifests = ManifestCache()


class UnreadableManifest(BlobNotFound):
    """A stored manifest that today's rules refuse (stored before they existed)."""

    default_message = "Manifest not found"


def set_manifest_cache_bytes(max_bytes: int) -> None:
    """Bound the parsed-manifest cache (`ORBITER_MANIFEST_CACHE_BYTES`), set at start-up."""
    _manifests.resize(max_bytes)


async def owned_hashes(
    db: AsyncSession, *, user_id: uuid.UUID, kind: str, hashes: Iterable[str]
) -> set[str]:
    """The subset of `hashes` the user has uploaded (proved possession of)."""
    wanted = sorted(set(hashes))
    owned: set[str] = set()
    for start in range(0, len(wanted), QUERY_BATCH):
        batch = wanted[start : start + QUERY_BATCH]
        stmt = select(ObjectOwner.hash).where(
            ObjectOwner.user_id == user_id, ObjectOwner.kind == kind, ObjectOwner.hash.in_(batch)
        )
        owned.update((await db.scalars(stmt)).all())
    return owned


async def parse_off_loop(raw: bytes, *, max_size: int = MAX_SIZE) -> Manifest:
    """`parse_manifest`, in a worker thread for all but small manifests."""
    if len(raw) > PARSE_IN_THREAD_BYTES:
        return await asyncio.to_thread(parse_manifest, raw, max_size=max_size)
    return parse_manifest(raw, max_size=max_size)


def remember_manifest(hash_: str, manifest: Manifest) -> None:
    _manifests.put(hash_, manifest)


async def read_manifest(store: BlobStore, hash_: str | None) -> Manifest:
    """The parsed manifest stored under `hash_` (the empty manifest for None), cached.

    The caller has already checked that the manifest is visible to the user. BlobNotFound
    when it is not in the store, or (UnreadableManifest) no longer passes validation.
    """
    if hash_ is None:
        return EMPTY_MANIFEST
    cached = _manifests.get(hash_)
    if cached is not None:
        return cached
    raw = await read_manifest_bytes(store, hash_)
    try:
        manifest = await parse_off_loop(raw)
    except ValidationFailed as exc:
        logger.error("stored manifest %s does not validate: %s", hash_, exc.message)
        raise UnreadableManifest() from exc
    _manifests.put(hash_, manifest)
    return manifest


async def read_manifest_bytes(store: BlobStore, hash_: str) -> bytes:
    try:
        stream = await store.open_stream(manifest_key(hash_))
    except BlobNotFound as exc:
        raise BlobNotFound("Manifest not found in the blob store") from exc
    return b"".join([chunk async for chunk in stream])


async def grant_ownership(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, kind: str, hash_: str, size: int
) -> bool:
    """Record the object (once) and the caller's proof of possession (idempotent); True when
    the object's bytes are (still) in the store under `object_key(kind, hash_)`.

    Rows come first, then the check: bytes are deleted only by `reclaim`, which first claims
    the object's row (see there), so once these rows are in and the bytes are there, they stay
    until the rows go. False means a collection removed them meanwhile: write them again, or
    let the request fail, but never commit these rows without them.
    """
    await db.execute(
        upsert_insert(db, StoredObject)
        .values(kind=kind, hash=hash_, size=size)
        .on_conflict_do_nothing(index_elements=["kind", "hash"])
    )
    # A repeated proof refreshes created_at, which the gc grace period counts from.
    await db.execute(
        upsert_insert(db, ObjectOwner)
        .values(user_id=user_id, kind=kind, hash=hash_, created_at=utcnow())
        .on_conflict_do_update(
            index_elements=["user_id", "kind", "hash"], set_={"created_at": utcnow()}
        )
    )
    return await store.exists(object_key(kind, hash_))


def removed_meanwhile() -> Conflict:
    return Conflict("The stored object was removed while this upload was verified; upload it again")


def object_key(kind: str, hash_: str) -> str:
    return blob_key(hash_) if kind == "blob" else manifest_key(hash_)
