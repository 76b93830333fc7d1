"""Blobs as files under one directory; every file operation runs in a worker thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from orbiter.core.errors import ServiceUnavailable
from orbiter.storage.base import (
    DEFAULT_CHUNK_SIZE,
    BlobNotFound,
    BlobStream,
    StoredKey,
    validate_key,
    validate_range,
)
from orbiter.storage.streams import ThreadedReader, single_chunk

# Temp files live inside the root so the final os.replace never crosses filesystems.
TEMP_DIR_NAME = ".tmp"
TEMP_SUFFIXES = (".part", ".probe")


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.temp_dir = self.root / TEMP_DIR_NAME

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def size(self, key: str) -> int | None:
        return await asyncio.to_thread(_file_size, self._path(key))

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> int:
        target = self._path(key)
        temp_path, temp_file = await asyncio.to_thread(_create_temp_file, self.temp_dir)
        written = 0
        try:
            async for chunk in chunks:
                await asyncio.to_thread(temp_file.write, chunk)
                written += len(chunk)
            await asyncio.to_thread(_commit, temp_file, temp_path, target)
        except BaseException:
            _discard(temp_file, temp_path)
            raise
        return written

    async def put_bytes(self, key: str, data: bytes) -> int:
        return await self.put_stream(key, single_chunk(data))

    async def open_stream(
        self,
        key: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        start: int = 0,
        end: int | None = None,
    ) -> BlobStream:
        path = self._path(key)
        validate_range(chunk_size, start, end)
        file = await asyncio.to_thread(_open_at, path, start)
        limit = None if end is None else max(0, end - start)
        return ThreadedReader(file, chunk_size=chunk_size, limit=limit)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def copy(self, source: str, target: str) -> None:
        await self.put_stream(target, aiter(await self.open_stream(source)))

    async def stored_sha256(self, key: str) -> str | None:
        if await self.size(key) is None:
            raise BlobNotFound()
        return None

    async def list_keys(
        self, prefix: str, *, after: str = "", limit: int = 1000
    ) -> list[StoredKey]:
        """In the order of the keys' segments (each directory's names sorted)."""
        return await asyncio.to_thread(_list_keys, self.root, prefix, after, limit)

    async def discard_incomplete_uploads(self, older_than: datetime) -> int:
        """Temp files last written before `older_than`: a live upload writes its temp file
        at least once per received chunk, so only a dead process's files are that old."""
        return await asyncio.to_thread(_discard_temp_files, self.temp_dir, older_than.timestamp())

    async def presign_get(self, key: str, expires: int = 3600) -> str | None:
        return None  # a directory has no URLs; callers fall back to API routes

    async def presign_put(
        self, key: str, expires: int = 3600, *, sha256_hex: str | None = None
    ) -> str | None:
        return None

    async def check(self) -> None:
        await asyncio.to_thread(_probe_writable, self.temp_dir)

    async def close(self) -> None:
        pass

    def _path(self, key: str) -> Path:
        validate_key(key)
        if key.split("/", 1)[0] == TEMP_DIR_NAME:
            raise ValueError(f"blob key must not start with the reserved {TEMP_DIR_NAME!r}")
        return self.root / key


def _file_size(path: Path) -> int | None:
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _list_keys(root: Path, prefix: str, after: str, limit: int) -> list[StoredKey]:
    after_segments = tuple(after.split("/")) if after else ()
    found: list[StoredKey] = []

    def walk(directory: Path, segments: tuple[str, ...]) -> None:
        try:
            names = sorted(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in names:
            here = (*segments, name)
            if len(found) >= limit:
                return
            if (not segments and name == TEMP_DIR_NAME) or here < after_segments[: len(here)]:
                continue  # the temp files, or everything in it comes before `after`
            key = "/".join(here)
            try:
                info = (directory / name).lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if (key + "/").startswith(prefix) or prefix.startswith(key + "/"):
                    walk(directory / name, here)
            elif stat.S_ISREG(info.st_mode) and key.startswith(prefix) and here > after_segments:
                found.append(StoredKey(key, datetime.fromtimestamp(info.st_mtime, UTC)))

    walk(root, ())
    return found


def _discard_temp_files(temp_dir: Path, before: float) -> int:
    discarded = 0
    try:
        entries = list(os.scandir(temp_dir))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not entry.name.endswith(TEMP_SUFFIXES):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < before:
                os.unlink(entry.path)
                discarded += 1
        except FileNotFoundError:
            continue  # finished or discarded meanwhile
    return discarded


def _create_temp_file(temp_dir: Path) -> tuple[Path, BinaryIO]:
    temp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=temp_dir, suffix=".part")
    return Path(name), os.fdopen(fd, "wb")


def _commit(temp_file: BinaryIO, temp_path: Path, target: Path) -> None:
    temp_file.flush()
    os.fsync(temp_file.fileno())
    temp_file.close()
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp_path, target)
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable, not just the file's contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(temp_file: BinaryIO, temp_path: Path) -> None:
    # Synchronous on purpose: it must finish even while the task is being cancelled.
    with contextlib.suppress(OSError):
        temp_file.close()
    temp_path.unlink(missing_ok=True)


def _open_at(path: Path, start: int) -> BinaryIO:
    try:
        file = path.open("rb")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise BlobNotFound() from exc
    file.seek(start)
    return file


def _probe_writable(temp_dir: Path) -> None:
    try:
        temp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=temp_dir, suffix=".probe")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise ServiceUnavailable("Blob directory is not writable") from exc
