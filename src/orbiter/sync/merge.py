"""The per-path three-way merge of main into a workspace (API.md, "Sync").

For each path, with its base, main and workspace entries (None: absent):
only in main → add; changed only in main → update (a deletion in main deletes); changed only
here → keep; deleted here but changed in main, or changed on both sides → conflict. A conflict
between two regular files merges content and mode separately: content that changed on one side
only takes that side, text changed on both is merged with `merge3`, a mode changed on one side
only takes that side. Symlinks merge their target and mode the same way. What does not merge
cleanly (binary content, overlapping text edits, a deletion against a change, different types)
is a decision between `use_main` and `use_workspace`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import merge3

from orbiter.blobs.manifest import ManifestEntry

Entry = ManifestEntry | None
Action = Literal["add", "update", "delete", "keep", "merge", "decide"]


def identity(entry: Entry) -> tuple[str, str | None, str | None, int] | None:
    if entry is None:
        return None
    return (entry.type, entry.hash, entry.target, entry.mode)


@dataclass(frozen=True)
class PathPlan:
    """What happens to one path that differs between main and the workspace."""

    path: str
    action: Action
    base: Entry
    main: Entry
    workspace: Entry
    reason: str = ""


def classify(path: str, base: Entry, main: Entry, workspace: Entry) -> PathPlan | None:
    """The plan for `path`; None when main and the workspace already agree."""
    b, m, w = identity(base), identity(main), identity(workspace)
    if m == w:
        return None
    plan = PathPlan(path, "keep", base, main, workspace)
    if m == b:
        return plan  # changed only here
    if w == b:
        kind: Action = "add" if base is None else "delete" if main is None else "update"
        return replace(plan, action=kind)
    if workspace is None:
        return replace(plan, action="decide", reason="deleted in this workspace, changed in main")
    if main is None:
        return replace(plan, action="decide", reason="deleted in main, changed in this workspace")
    reason = "added on both sides" if base is None else "changed on both sides"
    return replace(plan, action="merge", reason=reason)


def three_way(base: object, main: object, workspace: object) -> tuple[bool, object]:
    """(merged, value) for a scalar that may have changed on either side."""
    if main in (workspace, base):
        return True, workspace
    if workspace == base:
        return True, main
    return False, None


def text_of(data: bytes) -> list[str] | None:
    """The lines of `data` when it is text (UTF-8 without NUL); None for binary content."""
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def merge_text(base: bytes, main: bytes, workspace: bytes) -> bytes | None:
    """The clean merge3 merge of the three texts; None when binary or the edits overlap."""
    lines = [text_of(data) for data in (base, main, workspace)]
    if any(part is None for part in lines):
        return None
    b, m, w = (part or [] for part in lines)
    merged: list[str] = []
    for group in merge3.Merge3(b, w, m).merge_groups():
        if group[0] == "conflict":
            return None
        merged.extend(group[1])
    return "".join(merged).encode("utf-8")
