"""What the agent changed: the sandbox's work dir read back and compared with the base files.

The work dir was written by the sandbox's user: nothing in it is trusted. The walk never
follows a link (a link the agent made is not a file the patch can carry), reads regular
files only (O_NOFOLLOW), skips caches and VCS metadata, and refuses more than `MAX_CHANGES`
changed files or a file over the files API's size limit.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from orbiter.blobs.manifest import Manifest

SKIPPED_DIRS = frozenset(
    {".git", "__pycache__", "node_modules", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
)
SKIPPED_SUFFIXES = (".pyc", ".pyo")
MAX_CHANGES = 200


class TooMuchChanged(Exception):
    pass


@dataclass(frozen=True)
class Found:
    path: str
    data: bytes


def _read_regular(path: Path, max_bytes: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > max_bytes:
            raise TooMuchChanged(f"{path.name} is larger than {max_bytes} bytes")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_work_dir(work_dir: Path, max_bytes: int) -> dict[str, bytes]:
    """Every regular file below `work_dir` (relative POSIX path → bytes), caches skipped."""
    files: dict[str, bytes] = {}
    for root, dirs, names in os.walk(work_dir, followlinks=False):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in names:
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            full = Path(root) / name
            data = _read_regular(full, max_bytes)
            if data is not None:
                files[full.relative_to(work_dir).as_posix()] = data
    return files


def changed_paths(
    base: Manifest, base_contents: dict[str, bytes], after: dict[str, bytes]
) -> list[tuple[str, bytes | None, bytes | None]]:
    """(path, before, after) of each file the agent added, changed or deleted. Base entries
    that are not regular files (links, directories) are left as they were."""
    base_files = {e.path for e in base.files if e.type == "file"}
    others = {e.path for e in base.files if e.type != "file"}
    changes: list[tuple[str, bytes | None, bytes | None]] = []
    for path in sorted(base_files | (set(after) - others)):
        before, now = base_contents.get(path), after.get(path)
        if path in base_files and before is None:
            continue  # not laid out (unreadable): nothing to compare with
        if before != now:
            changes.append((path, before, now))
    if len(changes) > MAX_CHANGES:
        raise TooMuchChanged(f"The agent changed {len(changes)} files (at most {MAX_CHANGES})")
    return changes
