"""Manifests: `{"version": 1, "files": [{path, hash, size, mode, mod_time?, type?, target?}]}`.

A manifest is stored under the SHA-256 of its exact bytes, so it is validated as sent and
never rewritten. `parse_manifest` refuses anything API.md's blobs section does not allow and
names the offending entries.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from orbiter.core.errors import ValidationFailed

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
ENTRY_TYPES = ("file", "dir", "symlink")
MAX_REPORTED_PROBLEMS = 100


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    path: str
    hash: str | None
    size: int
    mode: int
    type: str = "file"
    target: str | None = None
    mod_time: Any = None


@dataclass(frozen=True)
class Manifest:
    files: list[ManifestEntry]  # sorted by path

    def by_path(self) -> dict[str, ManifestEntry]:
        return {entry.path: entry for entry in self.files}

    def blob_hashes(self) -> set[str]:
        return {e.hash for e in self.files if e.type == "file" and e.hash is not None}


EMPTY_MANIFEST = Manifest(files=[])


def is_hash(value: str) -> bool:
    return bool(HASH_RE.match(value))


def parse_manifest(raw: bytes) -> Manifest:
    """The validated manifest, or ValidationFailed with `details.entries` (up to 100)."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"The manifest is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ValidationFailed("The manifest must be a JSON object with version and files")
    if document.get("version") not in (1, "1"):
        raise ValidationFailed.for_field("version", "version must be 1")
    files = document.get("files")
    if not isinstance(files, list):
        raise ValidationFailed.for_field("files", "files must be a list")
    entries: list[ManifestEntry] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(files):
        try:
            entry = _parse_entry(item)
            if entry.path in seen:
                raise ValueError("duplicate path")
        except ValueError as exc:
            if len(problems) < MAX_REPORTED_PROBLEMS:
                path = item.get("path") if isinstance(item, dict) else None
                problems.append({"index": index, "path": path, "message": str(exc)})
            continue
        seen.add(entry.path)
        entries.append(entry)
    if problems:
        raise ValidationFailed(
            f"The manifest has {len(problems)} invalid entr{'y' if len(problems) == 1 else 'ies'}",
            details={"entries": problems},
        )
    entries.sort(key=lambda entry: entry.path)
    return Manifest(files=entries)


def _parse_entry(item: object) -> ManifestEntry:
    if not isinstance(item, dict):
        raise ValueError("entry must be an object")
    path = _normalised_path(item.get("path"))
    kind = item.get("type", "file")
    if kind not in ENTRY_TYPES:
        raise ValueError(f"type must be one of {', '.join(ENTRY_TYPES)}")
    hash_ = item.get("hash")
    hash_required = kind == "file" or hash_ not in (None, "")
    if hash_required and (not isinstance(hash_, str) or not is_hash(hash_)):
        raise ValueError("hash must be 64 lowercase hex characters (SHA-256)")
    size = item.get("size", 0)
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("size must be a non-negative integer")
    mode = item.get("mode", 0o644)
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o177777:
        raise ValueError("mode must be an integer file mode")
    target = item.get("target")
    if kind == "symlink" and (not isinstance(target, str) or not target or "\x00" in target):
        raise ValueError("a symlink needs a non-empty target")
    return ManifestEntry(
        path=path,
        hash=hash_ or None,
        size=size,
        mode=mode,
        type=kind,
        target=target if kind == "symlink" else None,
        mod_time=item.get("mod_time"),
    )


def _normalised_path(path: object) -> str:
    if not isinstance(path, str) or not path:
        raise ValueError("path must be a non-empty string")
    if "\x00" in path or "\\" in path:
        raise ValueError("path must not contain NUL or backslashes")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise ValueError("path must be relative")
    if ".." in path.split("/"):
        raise ValueError("path must not contain '..'")
    if posixpath.normpath(path) != path:
        raise ValueError("path must be normalised (no '.', '//' or trailing '/')")
    return path


def blob_key(hash_: str) -> str:
    """Sharded store key of a blob, e.g. blobs/ab/cd/abcd..."""
    return f"blobs/{hash_[:2]}/{hash_[2:4]}/{hash_}"


def manifest_key(hash_: str) -> str:
    return f"manifests/{hash_[:2]}/{hash_[2:4]}/{hash_}"
