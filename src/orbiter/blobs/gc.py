"""Garbage collection of one user's blobs and manifests (POST /blobs/gc).

Roots are the manifests the user's work still needs:
- every snapshot's manifest in the projects the user is a member of, or created by the user;
- every workspace's current manifest in those projects, or in workspaces the user created;
- manifests the user uploaded within the grace period (a snapshot being registered);
- every manifest the user owns that any project uses (a snapshot's, or a workspace's current
  one), whoever put it there and whether or not the user is still a member.

The last rule is what keeps a project's data when a member leaves or is removed: their
uploads may be a workspace's state or a snapshot that someone else created (or registered
again through `usable.py`'s "the project already uses it" rule), and without it their gc
would drop the last ownership of those objects and delete the bytes from under the project.
It suffices because of an invariant `usable.require_usable_manifest` starts and this module
keeps: a manifest enters a project only from a caller who owns it and every blob it names (or
when the project already uses it), and an owner's gc never lets go of a manifest in use
anywhere, so it keeps that manifest's blobs as reachable. Every manifest in use thus keeps at
least one owner holding it and all its blobs, and no pass needs to read other users'
manifests (the work stays proportional to the caller's own objects). Ownership is never
handed to the remaining members when someone leaves: it is proof of possession, which would
let them download bytes they never uploaded, and every way of leaving would need the hook.

A blob the user owns is an orphan when no root manifest lists it and the user's ownership
is older than `settings.gc_grace_seconds` (`ObjectOwner.created_at`, refreshed whenever the
user uploads the bytes again or `exists` reports them as existing, so an upload or snapshot in
progress is never collected). A manifest the user owns is an orphan when it is not a root and
is older than the grace period.

Collecting removes the user's ownership only; the `StoredObject` row goes in the same
transaction when no owner is left, and `GcReport.released` names those objects. Their bytes
are deleted only after that transaction has committed, by `reclaim.delete_unowned` (the router
runs it after the response's commit): a failed commit keeps rows and bytes, a crash after it
leaves bytes without rows, which the next pass's store sweep (`reclaim.sweep_store`) finds.
`freedBytes` counts the caller's collected objects (what leaves their `stats`), never whether
someone else still holds the same bytes.

Memory stays bounded: owner rows are read in keyset batches and at most `max_blobs` blobs are
examined per pass; the reachable set holds hashes only, built one manifest at a time.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import (
    QUERY_BATCH,
    UnreadableManifest,
    read_manifest,
    read_manifest_bytes,
)
from orbiter.core.time import utcnow
from orbiter.models import ObjectOwner, Snapshot, StoredObject, SyncPreview, Workspace
from orbiter.storage import BlobNotFound, BlobStore
from orbiter.tenancy.access import member_project_ids

logger = logging.getLogger(__name__)

_HASH_IN_TEXT = re.compile(rb"[0-9a-f]{64}")


@dataclass(frozen=True)
class Orphan:
    kind: str
    hash: str
    size: int


@dataclass(frozen=True)
class GcReport:
    dry_run: bool
    scanned_blobs: int
    orphaned_blobs: int
    orphaned_manifests: int
    freed_bytes: int
    released: list[tuple[str, str]]  # (kind, hash) nobody owns any more: delete after commit


async def collect(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    dry_run: bool,
    max_blobs: int,
    grace_seconds: int,
) -> GcReport:
    cutoff = utcnow() - timedelta(seconds=grace_seconds)
    roots = await root_manifests(db, user_id=user_id, cutoff=cutoff)
    reachable = await reachable_blobs(store, roots)
    scanned = 0
    orphans: list[Orphan] = []
    async for batch in _owned_batches(db, user_id=user_id, kind="blob", limit=max_blobs):
        scanned += len(batch)
        orphans += [o for o, created in batch if o.hash not in reachable and created < cutoff]
    manifest_orphans: list[Orphan] = []
    async for batch in _owned_batches(db, user_id=user_id, kind="manifest", limit=None):
        manifest_orphans += [o for o, created in batch if o.hash not in roots and created < cutoff]
    everything = orphans + manifest_orphans
    released = [] if dry_run else await _release(db, user_id=user_id, orphans=everything)
    return GcReport(
        dry_run=dry_run,
        scanned_blobs=scanned,
        orphaned_blobs=len(orphans),
        orphaned_manifests=len(manifest_orphans),
        freed_bytes=sum(o.size for o in everything),
        released=released,
    )


async def root_manifests(db: AsyncSession, *, user_id: uuid.UUID, cutoff: datetime) -> set[str]:
    member_of = member_project_ids(user_id)
    snapshots = select(Snapshot.manifest_hash).where(
        or_(Snapshot.project_id.in_(member_of), Snapshot.created_by == user_id)
    )
    workspaces = select(Workspace.current_manifest_hash).where(
        or_(Workspace.project_id.in_(member_of), Workspace.created_by == user_id),
        Workspace.current_manifest_hash.is_not(None),
    )
    previews = [
        select(column).where(
            or_(SyncPreview.project_id.in_(member_of), SyncPreview.created_by == user_id),
            column.is_not(None),
            SyncPreview.expires_at > utcnow(),  # a sync preview is kept 30 minutes
        )
        for column in (
            SyncPreview.merged_manifest_hash,
            SyncPreview.main_manifest_hash,
            SyncPreview.combined_manifest_hash,
        )
    ]
    owned_manifests = select(ObjectOwner.hash).where(
        ObjectOwner.user_id == user_id, ObjectOwner.kind == "manifest"
    )
    recent = owned_manifests.where(ObjectOwner.created_at >= cutoff)
    in_use_anywhere = owned_manifests.where(
        or_(
            exists().where(Snapshot.manifest_hash == ObjectOwner.hash),
            exists().where(Workspace.current_manifest_hash == ObjectOwner.hash),
        )
    )
    roots: set[str] = set()
    for stmt in (snapshots, workspaces, recent, in_use_anywhere, *previews):
        roots.update(h for h in (await db.scalars(stmt.distinct())).all() if h)
    return roots


async def reachable_blobs(store: BlobStore, manifests: set[str]) -> set[str]:
    """Every blob the manifests list, reading one manifest at a time.

    A root manifest missing from the store is skipped (it cannot name anything); one that no
    longer validates keeps every hash its text holds; any other failure (store down)
    propagates, so nothing is collected on an incomplete picture.
    """
    reachable: set[str] = set()
    for hash_ in sorted(manifests):
        try:
            manifest = await read_manifest(store, hash_)
        except UnreadableManifest:
            raw = await read_manifest_bytes(store, hash_)
            reachable |= {found.decode() for found in _HASH_IN_TEXT.findall(raw)}
            continue
        except BlobNotFound:
            logger.warning("gc: root manifest %s is not in the store", hash_)
            continue
        reachable |= manifest.blob_hashes()
    return reachable


async def _owned_batches(
    db: AsyncSession, *, user_id: uuid.UUID, kind: str, limit: int | None
) -> AsyncIterator[list[tuple[Orphan, datetime]]]:
    """The user's objects of `kind` by hash, in keyset batches, at most `limit` in all."""
    after = ""
    seen = 0
    while limit is None or seen < limit:
        size = QUERY_BATCH if limit is None else min(QUERY_BATCH, limit - seen)
        stmt = (
            select(ObjectOwner.hash, ObjectOwner.created_at, StoredObject.size)
            .join(
                StoredObject,
                (StoredObject.kind == ObjectOwner.kind) & (StoredObject.hash == ObjectOwner.hash),
            )
            .where(ObjectOwner.user_id == user_id, ObjectOwner.kind == kind)
            .where(ObjectOwner.hash > after)
            .order_by(ObjectOwner.hash)
            .limit(size)
        )
        rows = (await db.execute(stmt)).all()
        if not rows:
            return
        seen += len(rows)
        after = rows[-1].hash
        yield [(Orphan(kind, h, int(s)), created) for h, created, s in rows]
        if len(rows) < size:
            return


async def _release(
    db: AsyncSession, *, user_id: uuid.UUID, orphans: list[Orphan]
) -> list[tuple[str, str]]:
    """Drop the user's ownership and the rows of objects nobody owns any more; returns those
    objects, whose bytes must go once this transaction has committed."""
    released: list[tuple[str, str]] = []
    for kind in ("blob", "manifest"):
        hashes = [o.hash for o in orphans if o.kind == kind]
        for start in range(0, len(hashes), QUERY_BATCH):
            batch = hashes[start : start + QUERY_BATCH]
            await db.execute(
                delete(ObjectOwner).where(
                    ObjectOwner.user_id == user_id,
                    ObjectOwner.kind == kind,
                    ObjectOwner.hash.in_(batch),
                )
            )
            still_owned = exists().where(
                ObjectOwner.kind == StoredObject.kind, ObjectOwner.hash == StoredObject.hash
            )
            gone = await db.scalars(
                delete(StoredObject)
                .where(StoredObject.kind == kind, StoredObject.hash.in_(batch), ~still_owned)
                .returning(StoredObject.hash)
            )
            released += [(kind, h) for h in gone.all()]
    await db.flush()
    return released
