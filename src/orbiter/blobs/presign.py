"""Presigned URLs, and adopting blobs uploaded through them.

On a store that signs URLs (S3), `presign-upload` hands out a PUT URL for a per-user staging
key, `staging/<user id>/<hash>`, with the SHA-256 signed in as `x-amz-checksum-sha256`: S3
refuses a request without that header or with other bytes. The server never trusts the
staging object, though: when the user next calls `exists` for that hash, the staged object is
verified (S3's own full-object SHA-256 when it reports one, else the server reads and hashes
the bytes), copied to the blob's key server-side, and only then does the user become an owner.
A staged object that does not verify is deleted. Staged objects never adopted should be
removed by a bucket lifecycle rule on the `staging/` prefix.

On a store without URLs (the local directory) the URLs are the API's own upload and download
routes, which need the caller's credentials as usual.

Download URLs are given only for blobs the caller owns; other hashes are left out of `urls`.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import grant_ownership, owned_hashes
from orbiter.blobs.manifest import blob_key
from orbiter.core.kv import KeyValueStore
from orbiter.storage import BlobNotFound, BlobStore

logger = logging.getLogger(__name__)

URL_SECONDS = 3600
# The pending mark outlives the URL a little, so an upload finished at the last second counts.
PENDING_SECONDS = URL_SECONDS + 600
API_PREFIX = "/api/v1/blobs"


def staging_key(user_id: uuid.UUID, hash_: str) -> str:
    return f"staging/{user_id}/{hash_}"


def _pending_mark(user_id: uuid.UUID, hash_: str) -> str:
    return f"blobs:presigned:{user_id}:{hash_}"


async def upload_urls(
    store: BlobStore,
    kv: KeyValueStore,
    *,
    user_id: uuid.UUID,
    hashes: Sequence[str],
    base_url: str,
) -> dict[str, str]:
    urls: dict[str, str] = {}
    for hash_ in dict.fromkeys(hashes):
        url = await store.presign_put(staging_key(user_id, hash_), URL_SECONDS, sha256_hex=hash_)
        if url is None:
            urls[hash_] = f"{base_url}{API_PREFIX}/upload/{hash_}"
            continue
        await kv.put(_pending_mark(user_id, hash_), "1", PENDING_SECONDS)
        urls[hash_] = url
    return urls


async def download_urls(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    hashes: Sequence[str],
    base_url: str,
) -> dict[str, str]:
    owned = await owned_hashes(db, user_id=user_id, kind="blob", hashes=hashes)
    urls: dict[str, str] = {}
    for hash_ in dict.fromkeys(hashes):
        if hash_ not in owned:
            continue
        url = await store.presign_get(blob_key(hash_), URL_SECONDS)
        urls[hash_] = url or f"{base_url}{API_PREFIX}/download/{hash_}"
    return urls


async def adopt_staged(
    db: AsyncSession,
    store: BlobStore,
    kv: KeyValueStore,
    *,
    user_id: uuid.UUID,
    hashes: Sequence[str],
    max_bytes: int,
) -> set[str]:
    """Verify and adopt presigned uploads of `hashes`; returns those the user now owns."""
    adopted: set[str] = set()
    for hash_ in hashes:
        mark = _pending_mark(user_id, hash_)
        if await kv.get(mark) is None:
            continue
        staged = staging_key(user_id, hash_)
        size = await store.size(staged)
        if size is None:
            continue  # not uploaded (yet): the mark stays until it expires
        try:
            verified = size <= max_bytes and await _sha256_of(store, staged) == hash_
            if verified:
                stored = await grant_ownership(
                    db, store, user_id=user_id, kind="blob", hash_=hash_, size=size
                )
                if not stored:
                    await store.copy(staged, blob_key(hash_))
                adopted.add(hash_)
            else:
                logger.warning("presigned upload %s did not verify; discarded", staged)
        except BlobNotFound:
            continue
        await store.delete(staged)
        await kv.delete(mark)
    return adopted


async def _sha256_of(store: BlobStore, key: str) -> str:
    known = await store.stored_sha256(key)
    if known is not None:
        return known
    hasher = hashlib.sha256()
    stream = await store.open_stream(key)
    try:
        async for chunk in stream:
            hasher.update(chunk)
    finally:
        await stream.aclose()
    return hasher.hexdigest()
