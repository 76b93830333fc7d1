"""Changes to a working tree (a manifest's entries by path), applied in memory.

A tree is changed only through these edits; each refuses what would not make sense (writing a
file that exists with `create`, updating one that does not, moving onto an existing path) with
the error the client gets, so a batch stops at its first bad edit and nothing is written. The
result becomes a manifest, checked by the manifest rules like any upload.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Literal

from orbiter.blobs.manifest import ManifestEntry
from orbiter.core.errors import BadRequest, Conflict, NotFound
from orbiter.files.paths import ancestors, parent_of

FILE_MODE = 0o644
DIR_MODE = 0o755
Kind = Literal["file", "dir", "symlink"]


@dataclass(frozen=True)
class PutFile:
    """Write a file's content: `create` refuses an existing path, else the file must exist."""

    path: str
    hash: str
    size: int
    create: bool


@dataclass(frozen=True)
class MakeDir:
    path: str


@dataclass(frozen=True)
class Remove:
    """A file, or a directory with everything below it."""

    path: str


@dataclass(frozen=True)
class Move:
    path: str
    to: str


Edit = PutFile | MakeDir | Remove | Move


class WorkingTree:
    """Entries by path, and how many entries each directory holds below it."""

    def __init__(self, entries: list[ManifestEntry], *, mod_time: str) -> None:
        self._entries = {entry.path: entry for entry in entries}
        self._below: Counter[str] = Counter()
        self._mod_time = mod_time
        for path in self._entries:
            self._below.update(ancestors(path))

    def entries(self) -> list[ManifestEntry]:
        return sorted(self._entries.values(), key=lambda entry: entry.path)

    def kind(self, path: str) -> Kind | None:
        entry = self._entries.get(path)
        if entry is not None:
            return entry.type  # type: ignore[return-value]
        return "dir" if self._below[path] else None

    def entry(self, path: str) -> ManifestEntry | None:
        return self._entries.get(path)

    def apply(self, edit: Edit) -> str:
        """Apply one edit; returns the path it leaves in place (the moved-to path for a move)."""
        if isinstance(edit, PutFile):
            self._put_file(edit)
        elif isinstance(edit, MakeDir):
            self._refuse_existing(edit.path)
            self._add(ManifestEntry(edit.path, None, 0, DIR_MODE, "dir", None, self._mod_time))
        elif isinstance(edit, Remove):
            self._remove(edit.path)
        else:
            self._move(edit.path, edit.to)
            return edit.to
        return edit.path

    def _put_file(self, edit: PutFile) -> None:
        if edit.create:
            self._refuse_existing(edit.path)
            mode = FILE_MODE
        else:
            mode = self._existing_file(edit.path).mode
        self._entries.pop(edit.path, None)
        entry = ManifestEntry(edit.path, edit.hash, edit.size, mode, "file", None, self._mod_time)
        self._add(entry)

    def _existing_file(self, path: str) -> ManifestEntry:
        kind = self.kind(path)
        if kind is None:
            raise NotFound(f"No file at {path!r}", details={"path": path})
        if kind != "file":
            raise BadRequest(f"{path!r} is a {kind}, not a file", details={"path": path})
        return self._entries[path]

    def _refuse_existing(self, path: str) -> None:
        kind = self.kind(path)
        if kind is not None:
            raise Conflict(
                f"{path!r} already exists (a {kind})", details={"path": path, "type": kind}
            )

    def _add(self, entry: ManifestEntry) -> None:
        self._entries[entry.path] = entry
        self._below.update(ancestors(entry.path))

    def _take(self, path: str) -> list[ManifestEntry]:
        """Remove and return `path` and everything below it (404 when there is nothing)."""
        if self.kind(path) is None:
            raise NotFound(f"Nothing at {path!r}", details={"path": path})
        taken = [self._entries.pop(path)] if path in self._entries else []
        if self._below[path]:
            prefix = f"{path}/"
            below = [p for p in self._entries if p.startswith(prefix)]
            taken += [self._entries.pop(p) for p in below]
        for entry in taken:
            self._below.subtract(ancestors(entry.path))
        self._below += Counter()  # drop the directories that are now empty
        return taken

    def _keep_parent(self, path: str) -> None:
        """A directory emptied by a removal stays, as the editor showed it."""
        parent = parent_of(path)
        if parent and self.kind(parent) is None:
            self._add(ManifestEntry(parent, None, 0, DIR_MODE, "dir", None, self._mod_time))

    def _remove(self, path: str) -> None:
        self._take(path)
        self._keep_parent(path)

    def _move(self, path: str, to: str) -> None:
        if to == path or to.startswith(f"{path}/"):
            raise BadRequest(
                f"Cannot move {path!r} into itself ({to!r})", details={"path": path, "to": to}
            )
        if self.kind(path) is None:
            raise NotFound(f"Nothing at {path!r}", details={"path": path})
        self._refuse_existing(to)
        taken = self._take(path)
        for entry in taken:
            self._add(replace(entry, path=to + entry.path[len(path) :]))
        self._keep_parent(path)
