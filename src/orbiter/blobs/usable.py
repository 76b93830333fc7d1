"""The one rule for putting a manifest to use in a project.

A manifest becomes part of a project (a snapshot, a workspace's current manifest) only when
the caller holds it and every blob it names (uploaded those bytes: `ObjectOwner`), or when the
project already uses it (then its blobs were checked when it first came in). Everything that
later reads through a project's manifests (docs, diffs, drift, sync) relies on this: a user
cannot name someone else's hash in a manifest of their own and read the bytes through it.

The refusal depends only on what the caller holds, never on whether an object exists for
someone else, so it reveals nothing about other users' files.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import owned_hashes, read_manifest
from orbiter.core.errors import BadRequest
from orbiter.models import Snapshot, Workspace
from orbiter.storage import BlobNotFound, BlobStore

MAX_LISTED_MISSING = 100


async def manifest_in_project(db: AsyncSession, *, project_id: uuid.UUID, hash_: str) -> bool:
    """Whether the project already uses this manifest (a snapshot or a workspace's state)."""
    in_snapshot = exists().where(Snapshot.project_id == project_id, Snapshot.manifest_hash == hash_)
    in_workspace = exists().where(
        Workspace.project_id == project_id, Workspace.current_manifest_hash == hash_
    )
    return bool(await db.scalar(select(or_(in_snapshot, in_workspace))))


async def require_usable_manifest(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    hash_: str,
) -> None:
    """400 unless the caller may use manifest `hash_` in the project (see the module doc)."""
    if await manifest_in_project(db, project_id=project_id, hash_=hash_):
        return
    if not await owned_hashes(db, user_id=user_id, kind="manifest", hashes=[hash_]):
        raise _missing(hash_, [hash_], manifest_missing=True)
    try:
        wanted = (await read_manifest(store, hash_)).blob_hashes()
    except BlobNotFound as exc:  # collected meanwhile, or stored before today's rules
        raise _missing(hash_, [hash_], manifest_missing=True) from exc
    owned = await owned_hashes(db, user_id=user_id, kind="blob", hashes=wanted)
    missing = sorted(wanted - owned)
    if missing:
        raise _missing(hash_, missing, manifest_missing=False)


def _missing(hash_: str, missing: Sequence[str], *, manifest_missing: bool) -> BadRequest:
    what = "The manifest is" if manifest_missing else f"{len(missing)} blob(s) it names are"
    return BadRequest(
        f"{what} not in the blob store for you; upload {'it' if manifest_missing else 'them'} "
        "first (PUT /api/v1/blobs/manifests/{hash}, PUT /api/v1/blobs/upload/{hash})",
        details={
            "manifest_hash": hash_,
            "manifest_missing": manifest_missing,
            "missing": list(missing[:MAX_LISTED_MISSING]),
            "missing_count": len(missing),
        },
    )
