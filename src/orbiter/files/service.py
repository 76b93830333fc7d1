"""The working tree of a workspace: its current manifest, read and changed through /files.

A change (`commit`) stores the new files' blobs, then, holding the workspace's row, checks the
client's base (409 when the workspace moved on), applies every edit to the current tree in
memory, stores the result as a manifest checked by the manifest rules, and moves the workspace
to it with the compare-and-set of `workspaces.current_manifest`. Either all of it is committed
with the request or none of it. Every version is kept: each becomes a snapshot (source
`files`) whose parent is the version it was made from, so the project's history, the
snapshot diffs and `GET /blobs/manifests/{hash}` all reach it.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import parse_off_loop, read_manifest
from orbiter.blobs.manifest import ManifestEntry, blob_key, dump_manifest
from orbiter.blobs.service import store_blob, store_manifest
from orbiter.core.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, ValidationFailed
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.files.changes import (
    Base,
    Change,
    base_of,
    batch_change,
    create_change,
    delete_change,
    numbered,
    update_change,
)
from orbiter.files.edits import WorkingTree
from orbiter.files.paths import name_of, normalise_path, parent_of
from orbiter.files.schemas import (
    Based,
    BatchApplied,
    BatchRequest,
    ContentUpdate,
    Deleted,
    Encoding,
    FileContent,
    FileCreate,
    FileDelete,
    FileRead,
    FileWritten,
    TreeNode,
    Version,
)
from orbiter.files.tree import build_tree
from orbiter.files.workspaces import lock_workspace, readable_workspace, writable_workspace
from orbiter.models import Snapshot, Workspace
from orbiter.snapshots.schemas import SnapshotCreate
from orbiter.snapshots.service import create_snapshot
from orbiter.storage import BlobStore
from orbiter.workspaces.current_manifest import compare_and_set

SOURCE = "files"


def file_read(tree: WorkingTree, path: str) -> FileRead | None:
    kind = tree.kind(path)
    if kind is None:
        return None
    entry = tree.entry(path)
    return FileRead(
        path=path,
        name=name_of(path),
        parent_path=parent_of(path),
        is_directory=kind == "dir",
        size_bytes=entry.size if entry else 0,
        hash=entry.hash if entry else None,
    )


# --- reading ---------------------------------------------------------------------------------


async def read_tree(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, workspace_id: uuid.UUID | None
) -> list[TreeNode]:
    workspace = await readable_workspace(db, user_id=user_id, workspace_id=workspace_id)
    if workspace is None:
        return []
    manifest = await read_manifest(store, workspace.current_manifest_hash)
    return build_tree(manifest.files)


async def read_content(
    db: AsyncSession,
    store: BlobStore,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID | None,
    path: str,
) -> FileContent:
    path = normalise_path(path)
    workspace = await readable_workspace(db, user_id=user_id, workspace_id=workspace_id)
    hash_ = workspace.current_manifest_hash if workspace else None
    entry = (await read_manifest(store, hash_)).by_path().get(path)
    if workspace is None or hash_ is None or entry is None:
        raise NotFound(f"No file at {path!r}", details={"path": path})
    if entry.type != "file" or entry.hash is None:
        raise BadRequest(f"{path!r} is a {entry.type}, not a file", details={"path": path})
    if entry.size > settings.files_max_file_bytes:
        raise PayloadTooLarge(
            f"The file is larger than the limit of {settings.files_max_file_bytes} bytes for "
            "reading as content; download its blob (GET /api/v1/blobs/download/{hash})",
            details={"max_bytes": settings.files_max_file_bytes, "hash": entry.hash},
        )
    stream = await store.open_stream(blob_key(entry.hash))
    data = b"".join([chunk async for chunk in stream])
    encoding: Encoding = "utf-8"
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        content, encoding = base64.b64encode(data).decode("ascii"), "base64"
    return FileContent(
        content=content,
        path=path,
        name=name_of(path),
        encoding=encoding,
        size_bytes=len(data),
        hash=entry.hash,
        workspace_id=workspace.id,
        manifest_hash=hash_,
        version=workspace.version,
    )


# --- changing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Committed:
    version: Version
    results: list[FileRead | None]  # per edit, what it left in place


async def commit(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID | None,
    change: Change,
    base: Base,
) -> Committed:
    """Apply `change` to the workspace as one new version (see the module doc)."""
    workspace = await writable_workspace(db, user_id=user_id, workspace_id=workspace_id)
    for hash_ in sorted(change.contents):  # one order for every writer's row locks
        await store_blob(db, store, user_id=user_id, data=change.contents[hash_])
    current, version = await lock_workspace(db, workspace.id)
    if base.check and base.hash != current:
        raise _stale(workspace.id, base.hash, current, version)
    tree = WorkingTree((await read_manifest(store, current)).files, mod_time=utcnow().isoformat())
    results = []
    for index, edit in enumerate(change.edits):
        with numbered(index, len(change.edits)):
            results.append(file_read(tree, tree.apply(edit)))
    new_hash = await store_tree(db, store, user_id=user_id, entries=tree.entries())
    parent = await version_snapshot(db, store, user_id=user_id, workspace=workspace, hash_=current)
    moved = await compare_and_set(
        db, workspace_id=workspace.id, manifest_hash=new_hash, previous=current, check_previous=True
    )
    if moved is None:  # cannot happen while the row is held; never move over a change
        raise _stale(workspace.id, current, *(await lock_workspace(db, workspace.id)))
    snapshot_id = await record_version(
        db,
        store,
        user_id=user_id,
        workspace=workspace,
        hash_=new_hash,
        parent=parent,
        message=change.message(),
    )
    return Committed(
        version=Version(
            workspace_id=workspace.id,
            manifest_hash=new_hash,
            version=moved,
            snapshot_id=snapshot_id,
        ),
        results=results,
    )


def _stale(
    workspace_id: uuid.UUID, base: str | None, current: str | None, version: int
) -> Conflict:
    return Conflict(
        "The workspace changed since base_manifest_hash; read it again and redo the change",
        details={
            "conflict": True,
            "workspace_id": str(workspace_id),
            "base_manifest_hash": base,
            "current_manifest_hash": current,
            "version": version,
        },
    )


async def store_tree(
    db: AsyncSession, store: BlobStore, *, user_id: uuid.UUID, entries: list[ManifestEntry]
) -> str:
    """The tree as a manifest, checked by the manifest rules (a bad tree is a bad path: 400)."""
    raw = dump_manifest(entries)
    try:
        manifest = await parse_off_loop(raw)
    except ValidationFailed as exc:
        raise BadRequest(
            f"The change would leave an invalid tree: {exc.message}", details=exc.details
        ) from exc
    return (await store_manifest(db, store, user_id=user_id, raw=raw, manifest=manifest)).hash


async def version_snapshot(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    workspace: Workspace,
    hash_: str | None,
    message: str = "The tree before its first change through /files",
    source: str = SOURCE,
) -> uuid.UUID | None:
    """The snapshot of the workspace's version `hash_`, recorded now if it has none (a manifest
    set by a CLI): every version the files API moves away from stays in the history."""
    if hash_ is None:
        return None
    found = await db.scalar(
        select(Snapshot.id)
        .where(Snapshot.workspace_id == workspace.id, Snapshot.manifest_hash == hash_)
        .order_by(Snapshot.created_at.desc(), Snapshot.id.desc())
        .limit(1)
    )
    if found is not None:
        return found
    return await record_version(
        db,
        store,
        user_id=user_id,
        workspace=workspace,
        hash_=hash_,
        parent=None,
        message=message,
        source=source,
    )


async def record_version(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    workspace: Workspace,
    hash_: str,
    parent: uuid.UUID | None,
    message: str,
    source: str = SOURCE,
    parents: list[uuid.UUID] | None = None,
) -> uuid.UUID:
    """A snapshot (source `files` by default) of the workspace at manifest `hash_`, its parents
    `parents` or else `parent`."""
    snapshot, _ = await create_snapshot(
        db,
        store,
        user_id=user_id,
        project_id=workspace.project_id,
        body=SnapshotCreate(
            manifest_hash=hash_,
            parent_snapshot_ids=parents if parents is not None else [parent] if parent else [],
            workspace_id=workspace.id,
            source=source,
            message=message,
        ),
    )
    return snapshot.id


# --- the routes' calls -----------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    user_id: uuid.UUID
    workspace_id: uuid.UUID | None  # None: the scratch workspace


BodyT = TypeVar("BodyT", bound=Based)


async def change_files(
    db: AsyncSession,
    store: BlobStore,
    settings: Settings,
    caller: Caller,
    body: BodyT,
    build: Callable[[BodyT, Change], None],
) -> Committed:
    """The change `build` reads from `body`, committed against the body's base."""
    change = Change(max_bytes=settings.files_max_file_bytes)
    build(body, change)
    return await commit(
        db,
        store,
        user_id=caller.user_id,
        workspace_id=caller.workspace_id,
        change=change,
        base=base_of(body),
    )


def written(done: Committed) -> FileWritten:
    file = done.results[-1]
    assert file is not None  # a create or an update leaves its path in place
    return FileWritten(**done.version.model_dump(), file=file)


async def create_file(
    db: AsyncSession, store: BlobStore, settings: Settings, caller: Caller, body: FileCreate
) -> FileWritten:
    return written(await change_files(db, store, settings, caller, body, create_change))


async def update_content(
    db: AsyncSession, store: BlobStore, settings: Settings, caller: Caller, body: ContentUpdate
) -> FileWritten:
    return written(await change_files(db, store, settings, caller, body, update_change))


async def delete_path(
    db: AsyncSession, store: BlobStore, settings: Settings, caller: Caller, body: FileDelete
) -> Deleted:
    done = await change_files(db, store, settings, caller, body, delete_change)
    return Deleted(**done.version.model_dump())


async def apply_batch(
    db: AsyncSession, store: BlobStore, settings: Settings, caller: Caller, body: BatchRequest
) -> BatchApplied:
    done = await change_files(db, store, settings, caller, body, batch_change)
    return BatchApplied(**done.version.model_dump(), files=done.results)
