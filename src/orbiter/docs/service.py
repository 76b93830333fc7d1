"""Documentation files across a project's workspaces, read from their current manifests.

A documentation file is a regular file (not a symlink) whose extension is one of
DOC_EXTENSIONS (any case), or whose whole name is one of DOC_NAMES without an extension
(README, CHANGELOG, ...). Content comes from the blob store, capped at `max_doc_bytes`.

Bytes are read only through a workspace's current manifest, and a manifest becomes a
workspace's current one only when its setter holds every blob it names or the project already
uses it (`blobs.usable.require_usable_manifest`), so no one reads a file here that they or a
fellow member did not upload. A file whose bytes are missing answers exactly like a path that
is not in the manifest.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import Manifest, ManifestEntry, blob_key
from orbiter.core.errors import BadRequest, NotFound, PayloadTooLarge
from orbiter.docs.schemas import DocContent, DocFile, DocsListing, WorkspaceDocs
from orbiter.models import Workspace
from orbiter.storage import BlobNotFound, BlobStore
from orbiter.tenancy.access import load_project

logger = logging.getLogger("orbiter.docs")

DOC_EXTENSIONS = frozenset({".md", ".markdown", ".mdx", ".txt", ".rst", ".adoc", ".asciidoc"})
DOC_NAMES = frozenset({"readme", "changelog", "contributing", "license", "authors", "notice"})


def is_doc_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    stem, dot, extension = name.rpartition(".")
    if dot and stem:
        return f".{extension}" in DOC_EXTENSIONS
    return name in DOC_NAMES


def _is_doc(entry: ManifestEntry) -> bool:
    return entry.type == "file" and entry.hash is not None and is_doc_path(entry.path)


async def list_docs(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, store: BlobStore
) -> DocsListing:
    """Every workspace of the project (any member), each with its documentation files."""
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = (
        select(Workspace)
        .where(Workspace.project_id == project_id)
        .order_by(Workspace.created_at, Workspace.id)
    )
    workspaces = list((await db.scalars(stmt)).all())
    found: dict[str, list[DocFile]] = {}  # workspaces often share a manifest
    listing: list[WorkspaceDocs] = []
    for workspace in workspaces:
        manifest_hash = workspace.current_manifest_hash
        files: list[DocFile] = []
        if manifest_hash:
            if manifest_hash not in found:
                manifest = await _manifest_or_empty(store, workspace)
                found[manifest_hash] = [
                    DocFile(path=e.path, size=e.size, hash=e.hash or "")
                    for e in manifest.files
                    if _is_doc(e)
                ]
            files = found[manifest_hash]
        listing.append(
            WorkspaceDocs(
                workspace_id=workspace.id,
                workspace_name=workspace.name,
                manifest_hash=manifest_hash,
                files=files,
            )
        )
    return DocsListing(workspaces=listing, total_files=sum(len(w.files) for w in listing))


async def _manifest_or_empty(store: BlobStore, workspace: Workspace) -> Manifest:
    try:
        return await read_manifest(store, workspace.current_manifest_hash)
    except BlobNotFound:
        logger.warning(
            "workspace %s names manifest %s, which is not in the blob store",
            workspace.id,
            workspace.current_manifest_hash,
        )
        return Manifest(files=[])


async def read_doc(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    store: BlobStore,
    workspace: str,
    path: str,
    max_bytes: int,
) -> DocContent:
    """One documentation file's text, from a workspace named by id or name (any member)."""
    await load_project(db, user_id=user_id, project_id=project_id)
    if not is_doc_path(path):
        allowed = ", ".join(sorted(DOC_EXTENSIONS))
        raise BadRequest(
            f"Only documentation files can be read here ({allowed}, or README and similar "
            "names without an extension)",
            details={"path": path},
        )
    found = await _find_workspace(db, project_id=project_id, workspace=workspace)
    entry = await _entry(store, found, path)
    if entry.size > max_bytes:
        raise _too_large(path, entry.size, max_bytes)
    try:
        data = await _read_capped(store, entry, max_bytes)
    except BlobNotFound as exc:
        logger.warning("doc %s of manifest %s has no bytes", path, found.current_manifest_hash)
        raise _no_such_file(found, path) from exc
    return DocContent(
        content=data.decode("utf-8", errors="replace"),
        path=entry.path,
        workspace_id=found.id,
        workspace_name=found.name,
        size=len(data),
    )


async def _find_workspace(db: AsyncSession, *, project_id: uuid.UUID, workspace: str) -> Workspace:
    """By id, else by name, within the project only."""
    if "\x00" in workspace:  # no name holds NUL, and PostgreSQL refuses it in a query
        raise NotFound("Workspace not found", details={"workspace": workspace})
    try:
        as_id: uuid.UUID | None = uuid.UUID(workspace)
    except ValueError:
        as_id = None
    match = (
        Workspace.name == workspace
        if as_id is None
        else or_(Workspace.id == as_id, Workspace.name == workspace)
    )
    candidates = list(
        (await db.scalars(select(Workspace).where(Workspace.project_id == project_id, match))).all()
    )
    if not candidates:
        raise NotFound("Workspace not found", details={"workspace": workspace})
    return next((w for w in candidates if w.id == as_id), candidates[0])


def _no_such_file(workspace: Workspace, path: str) -> NotFound:
    return NotFound(
        "No such documentation file in the workspace's current manifest",
        details={"path": path, "workspace_id": str(workspace.id)},
    )


async def _entry(store: BlobStore, workspace: Workspace, path: str) -> ManifestEntry:
    missing = _no_such_file(workspace, path)
    if not workspace.current_manifest_hash:
        raise missing
    manifest = await _manifest_or_empty(store, workspace)
    entry = manifest.by_path().get(path)
    if entry is None or not _is_doc(entry):
        raise missing
    return entry


def _too_large(path: str, size: int, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{path} is {size} bytes; documents over {limit} bytes are not shown "
        "(ORBITER_MAX_DOC_BYTES)",
        details={"size": size, "limit": limit},
    )


async def _read_capped(store: BlobStore, entry: ManifestEntry, limit: int) -> bytes:
    """The blob's bytes, never reading more than `limit + 1` of them (the manifest may lie)."""
    assert entry.hash is not None
    stream = await store.open_stream(blob_key(entry.hash), end=limit + 1)
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in stream:
            total += len(chunk)
            if total > limit:
                raise _too_large(entry.path, total, limit)
            chunks.append(chunk)
    finally:
        await stream.aclose()
    return b"".join(chunks)
