"""The files of a manifest that detection reads, fetched from the blob store with caps."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from orbiter.blobs.access import read_manifest
from orbiter.blobs.manifest import ManifestEntry, blob_key
from orbiter.storage import BlobNotFound, BlobStore

ROOT_FILES = frozenset(
    {
        "package.json",
        "pyproject.toml",
        "requirements.txt",
        "go.mod",
        "Dockerfile",
        "Procfile",
        ".env.example",
        ".env.sample",
        ".env.template",
        "manage.py",
    }
)
LOCK_FILES = frozenset({"package-lock.json", "yarn.lock", "pnpm-lock.yaml"})  # presence only
SOURCE_DEPTH = {".py": 2, ".go": 2, ".js": 1, ".mjs": 1, ".cjs": 1, ".ts": 4}
IGNORED_FOLDERS = frozenset(
    {"node_modules", "vendor", "dist", "build", ".git", "__pycache__", ".venv", "venv", ".next"}
)
MAX_FILE_BYTES = 256 * 1024
MAX_SOURCE_FILES = 300
MAX_TOTAL_BYTES = 8 * 1024 * 1024
READS_AT_ONCE = 8


@dataclass
class ProjectFiles:
    files: dict[str, bytes] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # wanted but too large or unreadable


def _source_wanted(entry: ManifestEntry) -> bool:
    folders = entry.path.split("/")[:-1]
    if any(part in IGNORED_FOLDERS for part in folders):
        return False
    dot = entry.path.rfind(".")
    depth = SOURCE_DEPTH.get(entry.path[dot:] if dot > 0 else "")
    if depth is None:
        return False
    if entry.path.endswith(".ts"):  # Next.js route handlers only (the health route)
        return "/api/" in f"/{entry.path}" and "health" in entry.path
    return len(folders) <= depth


def choose(entries: list[ManifestEntry]) -> tuple[list[ManifestEntry], list[str], list[str]]:
    """(entries to read, lock files present, paths skipped for size)."""
    chosen, locks, skipped = [], [], []
    sources, total = 0, 0
    for entry in entries:
        if entry.type != "file" or entry.hash is None:
            continue
        if entry.path in LOCK_FILES:
            locks.append(entry.path)
            continue
        root = entry.path in ROOT_FILES
        if not root and not _source_wanted(entry):
            continue
        if entry.size > MAX_FILE_BYTES or total + entry.size > MAX_TOTAL_BYTES:
            skipped.append(entry.path)
            continue
        if not root:
            if sources >= MAX_SOURCE_FILES:
                skipped.append(entry.path)
                continue
            sources += 1
        chosen.append(entry)
        total += entry.size
    return chosen, locks, skipped


async def read_project_files(store: BlobStore, manifest_hash: str) -> ProjectFiles:
    """The files detection looks at, from the manifest stored under `manifest_hash`."""
    manifest = await read_manifest(store, manifest_hash)
    chosen, locks, skipped = choose(manifest.files)
    found = ProjectFiles(files=dict.fromkeys(locks, b""), skipped=skipped)
    gate = asyncio.Semaphore(READS_AT_ONCE)

    async def read(entry: ManifestEntry) -> None:
        assert entry.hash is not None
        async with gate:
            try:
                stream = await store.open_stream(blob_key(entry.hash), end=MAX_FILE_BYTES + 1)
            except BlobNotFound:
                found.skipped.append(entry.path)
                return
            try:
                found.files[entry.path] = b"".join([chunk async for chunk in stream])
            finally:
                await stream.aclose()

    await asyncio.gather(*(read(entry) for entry in chosen))
    return found
