"""Who may see which object, and reading a stored manifest. Other domains use these."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.manifest import EMPTY_MANIFEST, Manifest, manifest_key, parse_manifest
from orbiter.blobs.manifest_cache import ManifestCache
from orbiter.core.db import upsert_insert
from orbiter.core.time import utcnow
from orbiter.models import ObjectOwner, StoredObject
from orbiter.storage import BlobNotFound, BlobStore

QUERY_BATCH = 500  # bound on IN (...) lists
PARSE_IN_THREAD_BYTES = 256 * 1024  # larger manifests are parsed off the event loop

_manifests = ManifestCache()


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


async def read_manifest(store: BlobStore, hash_: str | None) -> Manifest:
    """The parsed manifest stored under `hash_` (the empty manifest for None), cached.

    The caller has already checked that the manifest is visible to the user.
    """
    if hash_ is None:
        return EMPTY_MANIFEST
    cached = _manifests.get(hash_)
    if cached is not None:
        return cached
    try:
        stream = await store.open_stream(manifest_key(hash_))
    except BlobNotFound as exc:
        raise BlobNotFound("Manifest not found in the blob store") from exc
    raw = b"".join([chunk async for chunk in stream])
    if len(raw) > PARSE_IN_THREAD_BYTES:
        manifest = await asyncio.to_thread(parse_manifest, raw)
    else:
        manifest = parse_manifest(raw)
    _manifests.put(hash_, manifest)
    return manifest


async def grant_ownership(
    db: AsyncSession, *, user_id: uuid.UUID, kind: str, hash_: str, size: int
) -> None:
    """Record the object (once) and the caller's proof of possession (idempotent)."""
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
