"""Who may see which object, and reading a stored manifest. Other domains use these."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.manifest import Manifest, manifest_key, parse_manifest
from orbiter.models import ObjectOwner
from orbiter.storage import BlobNotFound, BlobStore

QUERY_BATCH = 500  # bound on IN (...) lists


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


async def read_manifest(store: BlobStore, hash_: str) -> Manifest:
    """Load and parse a stored manifest. The caller has already checked who may see it."""
    try:
        stream = await store.open_stream(manifest_key(hash_))
    except BlobNotFound as exc:
        raise BlobNotFound("Manifest not found") from exc
    chunks = [chunk async for chunk in stream]
    return parse_manifest(b"".join(chunks))
