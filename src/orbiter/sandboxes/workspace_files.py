"""A workspace's current files, laid out in a new sandbox's work dir.

The manifest's paths are already checked (relative, normalised, no `..`); links are made
last, so nothing written here goes through one, and every file is created new (O_EXCL,
O_NOFOLLOW) in a work dir nobody else has touched yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import Manifest, ManifestEntry, blob_key
from orbiter.core.errors import ValidationFailed
from orbiter.sandbox import SandboxRunner
from orbiter.storage import BlobStore
from orbiter.workspaces.access import load_workspace

FIELD = "workspace_id"


async def lay_out_workspace(
    db: AsyncSession,
    store: BlobStore,
    runner: SandboxRunner,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    work_dir: Path,
    quota: int,
) -> None:
    """Write the workspace's current files into `work_dir` (404 when the caller may not read
    the workspace; 422 when its files are larger than the sandbox's disk quota)."""
    workspace = await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    if not workspace.current_manifest_hash:
        return
    manifest = await read_manifest(store, workspace.current_manifest_hash)
    total = sum(entry.size for entry in manifest.files if entry.type == "file")
    if total > quota:
        raise ValidationFailed.for_field(
            FIELD, f"The workspace's files ({total} bytes) exceed the sandbox's disk quota"
        )
    await write_manifest_files(store, runner, manifest, work_dir)


async def write_manifest_files(
    store: BlobStore, runner: SandboxRunner, manifest: Manifest, work_dir: Path
) -> None:
    """The manifest's files, directories and links, written into a new, empty `work_dir`."""
    links = []
    for entry in manifest.files:
        target = work_dir / entry.path
        make_parents(runner, work_dir, target)
        if entry.type == "dir":
            runner.prepare(target)
        elif entry.type == "file":
            await _write_blob(store, runner, entry, target)
        else:
            links.append((entry, target))
    for entry, target in links:
        with contextlib.suppress(FileExistsError):
            os.symlink(entry.target or "", target)
            runner.hand_over(target)


def make_parents(runner: SandboxRunner, work_dir: Path, target: Path) -> None:
    """The directories between `work_dir` and `target`, the sandbox's user's."""
    for directory in reversed(target.relative_to(work_dir).parents):
        if str(directory) != ".":
            runner.prepare(work_dir / directory)


async def _write_blob(
    store: BlobStore, runner: SandboxRunner, entry: ManifestEntry, target: Path
) -> None:
    assert entry.hash is not None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(target, flags, (entry.mode & 0o777) or 0o644)
    try:
        stream = await store.open_stream(blob_key(entry.hash))
        try:
            async for chunk in stream:
                await asyncio.to_thread(_write_all, fd, chunk)
        finally:
            await stream.aclose()
    finally:
        os.close(fd)
    runner.hand_over(target)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
