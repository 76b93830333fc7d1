"""Deleting stored bytes nobody owns, only ever after the rows that owned them are gone.

The rule every path keeps: a `StoredObject` row means its bytes are in the store. So bytes
are deleted only in `delete_unowned`, which first *claims* the object by inserting its
`StoredObject` row itself (size 0) in a short transaction of its own, deletes the bytes while
holding that row, then removes the row and commits. The insert succeeds only when no row
exists, committed or not: an upload or adoption that inserted the row first makes the claim
wait (PostgreSQL) or fail as a conflict, and one that comes after the claim waits for it and
then finds the bytes gone (`access.grant_ownership` checks after inserting), so it writes them
again or fails, never committing a row without bytes. On SQLite the single writer lock
serialises the same steps.

Whatever a crash leaves behind is bytes without rows (never the reverse), and
`sweep_store` finds those by listing the store: objects older than the grace period with no
`StoredObject` row, and presigned uploads (`staging/`) nobody adopted. Each gc pass lists up to
`max_keys` keys from where the previous pass stopped (a cursor in the key-value store), so
successive passes walk the whole store. Temp files and multipart uploads of a killed process
go at start-up and in every gc pass (`discard_stale_uploads`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orbiter.blobs import presign
from orbiter.blobs.access import QUERY_BATCH, object_key
from orbiter.core.db import transaction, upsert_insert
from orbiter.core.kv import KeyValueStore
from orbiter.core.time import utcnow
from orbiter.models import StoredObject
from orbiter.storage import BlobStore, StoredKey

logger = logging.getLogger(__name__)

CLAIM_BATCH = 50  # objects deleted per short transaction
STALE_UPLOAD_SECONDS = 3600  # a temp file or multipart upload untouched this long is dead
SWEEP_CURSOR = "blobs:gc:sweep-after"
SWEEP_CURSOR_SECONDS = 30 * 24 * 3600
_OBJECT_KEY = re.compile(r"^(blob|manifest)s/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")
_STAGING_KEY = re.compile(r"^staging/[0-9a-f-]{36}/[0-9a-f]{64}$")

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class SweepReport:
    examined: int
    orphans_deleted: int
    staged_deleted: int


async def delete_unowned(
    sessions: Sessions, store: BlobStore, objects: Sequence[tuple[str, str]]
) -> int:
    """Delete the bytes of those `(kind, hash)` objects that have no row; returns how many."""
    deleted = 0
    for kind in ("blob", "manifest"):
        hashes = sorted({hash_ for k, hash_ in objects if k == kind})
        for start in range(0, len(hashes), CLAIM_BATCH):
            deleted += await _delete_claimed(
                sessions, store, kind, hashes[start : start + CLAIM_BATCH]
            )
    return deleted


async def _delete_claimed(
    sessions: Sessions, store: BlobStore, kind: str, hashes: list[str]
) -> int:
    async with transaction(sessions) as db:
        claim = (
            upsert_insert(db, StoredObject)
            .values([{"kind": kind, "hash": h, "size": 0} for h in hashes])
            .on_conflict_do_nothing(index_elements=["kind", "hash"])
            .returning(StoredObject.hash)
        )
        claimed = list((await db.scalars(claim)).all())
        for hash_ in claimed:
            await store.delete(object_key(kind, hash_))
        if claimed:
            await db.execute(
                delete(StoredObject).where(
                    StoredObject.kind == kind, StoredObject.hash.in_(claimed)
                )
            )
    return len(claimed)


async def sweep_store(
    sessions: Sessions,
    store: BlobStore,
    kv: KeyValueStore,
    *,
    older_than: datetime,
    staged_older_than: datetime,
    max_keys: int,
) -> SweepReport:
    """One pass over up to `max_keys` keys, continuing where the last pass stopped."""
    after = await kv.get(SWEEP_CURSOR) or ""
    listed = await store.list_keys("", after=after, limit=max_keys)
    candidates = [found for item in listed if (found := _object_of(item, older_than))]
    orphans = await _without_rows(sessions, candidates)
    deleted = await delete_unowned(sessions, store, orphans)
    staged = [
        item.key
        for item in listed
        if _STAGING_KEY.match(item.key) and item.modified < staged_older_than
    ]
    for key in staged:
        await store.delete(key)
    # A short page means the walk reached the end: the next pass starts over.
    cursor = listed[-1].key if len(listed) >= max_keys else ""
    await kv.put(SWEEP_CURSOR, cursor, SWEEP_CURSOR_SECONDS)
    return SweepReport(examined=len(listed), orphans_deleted=deleted, staged_deleted=len(staged))


def _object_of(item: StoredKey, older_than: datetime) -> tuple[str, str] | None:
    match = _OBJECT_KEY.match(item.key)
    if match is None or item.modified >= older_than:
        return None
    kind, first, second, hash_ = match.groups()
    return (kind, hash_) if hash_.startswith(first + second) else None


async def _without_rows(
    sessions: Sessions, objects: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The objects that have no `StoredObject` row (read-only; the claim re-checks)."""
    present: set[tuple[str, str]] = set()
    async with sessions() as db:
        for start in range(0, len(objects), QUERY_BATCH):
            batch = objects[start : start + QUERY_BATCH]
            stmt = select(StoredObject.kind, StoredObject.hash).where(
                tuple_(StoredObject.kind, StoredObject.hash).in_(batch)
            )
            present.update((kind, hash_) for kind, hash_ in (await db.execute(stmt)).all())
    return [found for found in objects if found not in present]


async def discard_stale_uploads(store: BlobStore, *, min_age_seconds: int = 0) -> int:
    """Throw away temp files and multipart uploads untouched for STALE_UPLOAD_SECONDS (or
    `min_age_seconds` when longer): a live upload in another process is never that idle."""
    age = max(STALE_UPLOAD_SECONDS, min_age_seconds)
    try:
        discarded = await store.discard_incomplete_uploads(utcnow() - timedelta(seconds=age))
    except Exception:
        logger.warning("could not discard stale incomplete uploads", exc_info=True)
        return 0
    if discarded:
        logger.info("discarded %d stale incomplete upload(s)", discarded)
    return discarded


async def after_collection(
    sessions: Sessions,
    store: BlobStore,
    kv: KeyValueStore,
    *,
    released: Sequence[tuple[str, str]],
    grace_seconds: int,
    max_keys: int,
) -> None:
    """What a gc pass does once its transaction has committed; failures are logged only
    (whatever stays behind is bytes without rows, which the next pass finds)."""
    now = utcnow()
    try:
        await delete_unowned(sessions, store, released)
        await sweep_store(
            sessions,
            store,
            kv,
            older_than=now - timedelta(seconds=grace_seconds),
            staged_older_than=now - timedelta(seconds=max(grace_seconds, presign.PENDING_SECONDS)),
            max_keys=max_keys,
        )
    except Exception:
        logger.warning("gc: deleting unowned bytes failed; the next pass retries", exc_info=True)
    await discard_stale_uploads(store, min_age_seconds=grace_seconds)
