"""Manifests: `{"version": 1, "files": [{path, hash, size, mode, mod_time?, type?, target?}]}`.

A manifest is stored under the SHA-256 of its exact bytes, so it is validated as sent and
never rewritten. `parse_manifest` refuses anything API.md's blobs section does not allow and
names the offending entries (the field rules are in `manifest_checks`). The JSON itself is read
with guards: duplicate keys, `NaN`, numbers longer than `MAX_NUMBER_CHARS` and nesting deeper
than `MAX_DEPTH` are refused before anything else looks at the document.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from orbiter.blobs.manifest_checks import (
    MAX_SIZE,
    check_mod_time,
    check_mode,
    check_path,
    check_size,
    check_target,
)
from orbiter.core.errors import ValidationFailed

HASH_RE = re.compile(r"^[0-9a-f]{64}$")
_LONG_DIGITS = re.compile(rb"[0-9]{33}")  # a run longer than MAX_NUMBER_CHARS - 1
ENTRY_TYPES = ("file", "dir", "symlink")
DOCUMENT_MEMBERS = frozenset({"version", "files"})
ENTRY_MEMBERS = frozenset({"path", "hash", "size", "mode", "mod_time", "type", "target"})
MAX_REPORTED_PROBLEMS = 100
MAX_NUMBER_CHARS = 32  # 2**63 has 19 digits; longer numbers are refused before int() runs
MAX_DEPTH = 8  # the schema needs 3 levels; extra members may nest a little
MAX_TOTAL_SIZE = MAX_SIZE // 2  # the sizes of two manifests still add up within a BIGINT
ENTRY_MEMORY_BYTES = 400  # rough size of one parsed entry in memory, besides its strings


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
    memory_bytes: int = 0  # estimated size in memory (what the manifest cache counts)

    def by_path(self) -> dict[str, ManifestEntry]:
        return {entry.path: entry for entry in self.files}

    def blob_hashes(self) -> set[str]:
        return {e.hash for e in self.files if e.type == "file" and e.hash is not None}


EMPTY_MANIFEST = Manifest(files=[])


def is_hash(value: str) -> bool:
    return bool(HASH_RE.match(value))


def parse_manifest(raw: bytes, *, max_size: int = MAX_SIZE) -> Manifest:
    """The validated manifest, or ValidationFailed with `details.entries` (up to 100).

    `max_size` bounds each entry's size (uploads pass the blob size limit).
    """
    document = _load_json(raw)
    if not isinstance(document, dict):
        raise ValidationFailed("The manifest must be a JSON object with version and files")
    version = document.get("version")
    if not ((type(version) is int and version == 1) or version == "1"):
        raise ValidationFailed.for_field("version", 'version must be 1 or "1"')
    files = document.get("files")
    if not isinstance(files, list):
        raise ValidationFailed.for_field("files", "files must be a list")
    try:
        _check_extra_members(document, DOCUMENT_MEMBERS, level=1)
    except ValueError as exc:
        raise ValidationFailed(f"The manifest is not acceptable: {exc}") from exc
    entries, problems = _parse_entries(files, max_size)
    if not problems:
        problems = _tree_problems(entries)
    if problems:
        raise ValidationFailed(
            f"The manifest has {len(problems)} invalid entr{'y' if len(problems) == 1 else 'ies'}",
            details={"entries": problems[:MAX_REPORTED_PROBLEMS]},
        )
    if sum(entry.size for entry in entries) > MAX_TOTAL_SIZE:
        raise ValidationFailed.for_field("files", f"the sizes add up to more than {MAX_TOTAL_SIZE}")
    entries.sort(key=lambda entry: entry.path)
    return Manifest(files=entries, memory_bytes=sum(map(_memory, entries)))


class _Refused(ValueError):
    pass


def _load_json(raw: bytes) -> Any:
    guards: dict[str, Any] = {
        "object_pairs_hook": _unique_keys,
        "parse_constant": _no_constant,
        "parse_float": _bounded(_finite_float),  # rare in manifests: cheap to check each
    }
    if _LONG_DIGITS.search(raw):  # only then pay for a Python call per integer
        guards["parse_int"] = _bounded(int)
    try:
        document = json.loads(raw.decode("utf-8"), **guards)  # UTF-8 only (RFC 8259 §8.1)
    except RecursionError as exc:  # far past MAX_DEPTH: the parser's own recursion limit
        raise ValidationFailed(f"The manifest nests deeper than {MAX_DEPTH} levels") from exc
    except _Refused as exc:
        raise ValidationFailed(f"The manifest is not acceptable JSON: {exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ValidationFailed(f"The manifest is not valid JSON: {exc}") from exc
    return document


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {_printable(key)!r}")
            seen.add(key)
    return document


def _bounded(convert: Any) -> Any:
    def parse(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise _Refused(f"a number longer than {MAX_NUMBER_CHARS} characters")
        return convert(text)

    return parse


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON")


def _check_extra_members(members: dict[str, Any], known: frozenset[str], level: int) -> None:
    """Members the schema does not name are ignored, but may not nest past MAX_DEPTH (the
    known ones are scalars, checked by type)."""
    if len(members) <= len(known) and members.keys() <= known:
        return
    for name in members.keys() - known:
        if _depth(members[name], level + 1) > MAX_DEPTH:
            raise ValueError(f"{_printable(name)!r} nests deeper than {MAX_DEPTH} levels")


def _depth(value: Any, level: int) -> int:
    """How deeply containers nest below `value` (at `level`), without recursion."""
    deepest = level - 1
    stack: list[tuple[Any, int]] = [(value, level)]
    while stack and deepest <= MAX_DEPTH:
        item, at = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, at)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, at + 1) for child in children)
    return deepest


def _parse_entries(
    files: list[Any], max_size: int
) -> tuple[list[ManifestEntry], list[dict[str, Any]]]:
    entries: list[ManifestEntry] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(files):
        try:
            entry = _parse_entry(item, max_size)
            if entry.path in seen:
                raise ValueError("duplicate path")
        except ValueError as exc:
            problems.append(_problem(index, item, str(exc)))
            if len(problems) >= MAX_REPORTED_PROBLEMS:
                break
            continue
        seen.add(entry.path)
        entries.append(entry)
    return entries, problems


def _parse_entry(item: object, max_size: int) -> ManifestEntry:
    if not isinstance(item, dict):
        raise ValueError("entry must be an object")
    _check_extra_members(item, ENTRY_MEMBERS, level=3)
    path = check_path(item.get("path"))
    kind = item.get("type", "file")
    if kind not in ENTRY_TYPES:
        raise ValueError(f"type must be one of {', '.join(ENTRY_TYPES)}")
    hash_ = item.get("hash")
    hash_required = kind == "file" or hash_ not in (None, "")
    if hash_required and (not isinstance(hash_, str) or not is_hash(hash_)):
        raise ValueError("hash must be 64 lowercase hex characters (SHA-256)")
    size = check_size(item.get("size", 0), max_size)
    mode = check_mode(item.get("mode", 0o644), kind)
    target = check_target(item.get("target"), path) if kind == "symlink" else None
    return ManifestEntry(
        path=path,
        hash=hash_ or None,
        size=size,
        mode=mode,
        type=kind,
        target=target,
        mod_time=check_mod_time(item.get("mod_time")),
    )


def _tree_problems(entries: list[ManifestEntry]) -> list[dict[str, Any]]:
    """Entries under a path that is a file or a symlink: `a` as a file and `a/b` can't both be
    (and writing `a/b` through a symlink `a` would land wherever `a` points)."""
    kinds = {entry.path: entry.type for entry in entries}
    problems: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        parent = entry.path
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if kinds.get(parent, "dir") != "dir":
                message = f"its parent {parent!r} is a {kinds[parent]}, not a directory"
                problems.append({"index": index, "path": entry.path, "message": message})
                break
    return problems


def _problem(index: int, item: object, message: str) -> dict[str, Any]:
    path = item.get("path") if isinstance(item, dict) else None
    return {
        "index": index,
        "path": _printable(path) if isinstance(path, str) else None,
        "message": message,
    }


def _printable(text: str) -> str:
    """`text` as it can be sent back in JSON: lone surrogates become `\\udXXX` escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _memory(entry: ManifestEntry) -> int:
    extra = len(entry.mod_time) if isinstance(entry.mod_time, str) else 0
    return ENTRY_MEMORY_BYTES + len(entry.path) + len(entry.target or "") + extra


def combined_manifest(entries: list[ManifestEntry]) -> Manifest:
    """A manifest of entries sorted by unique path, each taken from a parsed (so valid)
    manifest: only the tree rule, which combining entries can break, is checked again."""
    problems = _tree_problems(entries)
    if problems:
        raise ValidationFailed(
            "The manifest is not a valid tree",
            details={"entries": problems[:MAX_REPORTED_PROBLEMS]},
        )
    return Manifest(files=entries, memory_bytes=sum(map(_memory, entries)))


def dump_manifest(entries: list[ManifestEntry]) -> bytes:
    """The JSON document for `entries` (sorted by path), as `parse_manifest` reads it back."""
    files = []
    for entry in sorted(entries, key=lambda e: e.path):
        item: dict[str, Any] = {"path": entry.path, "hash": entry.hash, "size": entry.size}
        item["mode"] = entry.mode
        if entry.mod_time is not None:
            item["mod_time"] = entry.mod_time
        if entry.type != "file":
            item["type"] = entry.type
        if entry.target is not None:
            item["target"] = entry.target
        files.append(item)
    return json.dumps({"version": 1, "files": files}, separators=(",", ":")).encode()


def blob_key(hash_: str) -> str:
    """Sharded store key of a blob, e.g. blobs/ab/cd/abcd..."""
    return f"blobs/{hash_[:2]}/{hash_[2:4]}/{hash_}"


def manifest_key(hash_: str) -> str:
    return f"manifests/{hash_[:2]}/{hash_[2:4]}/{hash_}"
