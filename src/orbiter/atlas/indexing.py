"""Build a project's atlas from its latest snapshot: read the manifest and the source files'
blobs from the store, parse them in a worker thread, and replace the previous graph in the
request's one transaction (readers see the old graph or the new one, never a mix)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.atlas.builder import Graph, build_graph
from orbiter.atlas.parsers import ParsedModule, grammar_of, parse_source
from orbiter.atlas.schemas import IndexResult, SkippedFile
from orbiter.atlas.vectors import embed_concepts, no_embedding_model
from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import ManifestEntry, blob_key
from orbiter.core.errors import BadRequest
from orbiter.core.time import utcnow
from orbiter.knowledge.embeddings import embedder_for
from orbiter.models import AtlasConcept, AtlasDiagram, AtlasEdge, AtlasIndexState, Role
from orbiter.runtime.resources import Resources
from orbiter.snapshots.service import latest_snapshot
from orbiter.storage import BlobNotFound, BlobStore
from orbiter.tenancy.access import load_project

# Folders of dependencies, build output and caches: not the project's own code.
IGNORED_FOLDERS = frozenset(
    {"node_modules", "vendor", "dist", "build", ".git", "__pycache__", ".venv", "venv", ".next"}
)
MAX_GO_MOD_BYTES = 64 * 1024
READS_AT_ONCE = 8
INSERT_BATCH = 1000


@dataclass
class Sources:
    files: dict[str, bytes] = field(default_factory=dict)
    go_mods: dict[str, bytes] = field(default_factory=dict)
    skipped: list[SkippedFile] = field(default_factory=list)


def _wanted(entry: ManifestEntry) -> bool:
    folders = entry.path.split("/")[:-1]
    return (
        entry.type == "file"
        and entry.hash is not None
        and not any(part in IGNORED_FOLDERS for part in folders)
    )


async def _read(store: BlobStore, entry: ManifestEntry, limit: int) -> bytes | None:
    """The blob's bytes, or None when missing or larger than `limit` (never read past it)."""
    assert entry.hash is not None
    try:
        stream = await store.open_stream(blob_key(entry.hash), end=limit + 1)
    except BlobNotFound:
        return None
    try:
        data = b"".join([chunk async for chunk in stream])
    finally:
        await stream.aclose()
    return None if len(data) > limit else data


@dataclass(frozen=True)
class Limits:
    file_bytes: int
    files: int
    total_bytes: int


def _too_many(limits: Limits, chosen: int, total: int) -> str | None:
    if chosen >= limits.files:
        return f"over {limits.files} files"
    if total > limits.total_bytes:
        return f"over {limits.total_bytes} bytes in all"
    return None


async def collect_sources(
    store: BlobStore, entries: list[ManifestEntry], limits: Limits
) -> Sources:
    """The source files to parse (and the go.mod files), read from the store; what is not
    read is listed in `skipped` with the reason."""
    sources = Sources()
    chosen: list[ManifestEntry] = []
    total = 0
    for entry in entries:
        if not _wanted(entry):
            continue
        if entry.path.rsplit("/", 1)[-1] == "go.mod" and entry.size <= MAX_GO_MOD_BYTES:
            data = await _read(store, entry, MAX_GO_MOD_BYTES)
            if data is not None:
                sources.go_mods[entry.path] = data
        elif grammar_of(entry.path) is None:
            continue
        elif entry.size > limits.file_bytes:
            reason = f"over {limits.file_bytes} bytes"
            sources.skipped.append(SkippedFile(path=entry.path, reason=reason))
        elif too_many := _too_many(limits, len(chosen), total + entry.size):
            sources.skipped.append(SkippedFile(path=entry.path, reason=too_many))
        else:
            chosen.append(entry)
            total += entry.size
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def read_one(entry: ManifestEntry) -> None:
        async with gate:
            data = await _read(store, entry, limits.file_bytes)
        if data is None:
            sources.skipped.append(SkippedFile(path=entry.path, reason="unreadable blob"))
        else:
            sources.files[entry.path] = data

    await asyncio.gather(*(read_one(entry) for entry in chosen))
    return sources


def parse_all(files: dict[str, bytes]) -> list[ParsedModule]:
    """Every file parsed (CPU-bound: runs in a worker thread)."""
    return [parse_source(path, data) for path, data in sorted(files.items())]


async def _replace_graph(db: AsyncSession, project_id: uuid.UUID, graph: Graph) -> None:
    await db.execute(
        update(AtlasDiagram)
        .where(AtlasDiagram.project_id == project_id, AtlasDiagram.concept_id.is_not(None))
        .values(concept_id=None)
    )
    await db.execute(delete(AtlasEdge).where(AtlasEdge.project_id == project_id))
    await db.execute(delete(AtlasConcept).where(AtlasConcept.project_id == project_id))
    edges = list(graph.edges.values())
    for start in range(0, len(graph.concepts), INSERT_BATCH):
        await db.execute(insert(AtlasConcept), graph.concepts[start : start + INSERT_BATCH])
    for start in range(0, len(edges), INSERT_BATCH):
        await db.execute(insert(AtlasEdge), edges[start : start + INSERT_BATCH])


async def index_atlas(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    embed: bool = False,
) -> IndexResult:
    """Rebuild the atlas from the latest snapshot (editors only; one index at a time); with
    `embed`, each concept's text is embedded by the caller's embedding model (none: 422)."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR, lock=True)
    embedder = await embedder_for(db, resources, user_id) if embed else None
    if embed and embedder is None:
        raise no_embedding_model()
    snapshot = await latest_snapshot(db, project_id=project_id)
    if snapshot is None:
        raise BadRequest(
            "The project has no snapshot to index; register one with "
            "POST /api/v1/projects/{id}/snapshots",
            details={"project_id": str(project_id)},
        )
    try:
        manifest = await read_manifest(resources.blobs, snapshot.manifest_hash)
    except BlobNotFound as exc:
        raise BadRequest(
            "The latest snapshot's manifest is not in the blob store",
            details={"snapshot_id": str(snapshot.id)},
        ) from exc
    settings = resources.settings
    limits = Limits(
        settings.atlas_max_file_bytes, settings.atlas_max_files, settings.atlas_max_total_bytes
    )
    sources = await collect_sources(resources.blobs, manifest.files, limits)
    parsed = await asyncio.to_thread(parse_all, sources.files)
    usable = [m for m in parsed if not (m.error and m.language == "python")]
    graph = await asyncio.to_thread(build_graph, project_id, usable, sources.go_mods)
    embedded = 0
    if embedder is not None:
        batch = settings.embedding_batch_size
        embedded = await embed_concepts(embedder, graph.concepts, batch)
    await _replace_graph(db, project_id, graph)
    await _remember(db, project_id, snapshot.id, snapshot.manifest_hash, len(usable), sources)
    return IndexResult(
        concepts_created=len(graph.concepts),
        edges_created=len(graph.edges),
        embeddings_created=embedded,
        snapshot_id=snapshot.id,
        manifest_hash=snapshot.manifest_hash,
        files_parsed=len(usable),
        files_skipped=sorted(sources.skipped, key=lambda s: s.path),
        parse_errors=[SkippedFile(path=m.path, reason=m.error or "") for m in parsed if m.error],
    )


async def _remember(
    db: AsyncSession,
    project_id: uuid.UUID,
    snapshot_id: uuid.UUID,
    manifest_hash: str,
    parsed: int,
    sources: Sources,
) -> None:
    state = await db.get(AtlasIndexState, project_id)
    if state is None:
        state = AtlasIndexState(project_id=project_id, manifest_hash=manifest_hash)
        db.add(state)
    state.snapshot_id = snapshot_id
    state.manifest_hash = manifest_hash
    state.files_parsed = parsed
    state.skipped = [s.model_dump() for s in sources.skipped]
    state.indexed_at = utcnow()
    await db.flush()
