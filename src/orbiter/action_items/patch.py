"""A run's patch: what changed between the files laid out in the sandbox and what the agent
left there, as a unified diff, and applying it to a workspace that may have moved since.

Per changed path the run keeps the base content hash and the new one (None: added or
deleted). Applying a change to the workspace's current entry: the current content is the
base → the new content; it is already the new content → nothing; both sides changed a text
file → `merge3` (`sync.merge.merge_text`), a conflict when the edits overlap; anything else
(a deletion against a change, binary content) is a conflict.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from orbiter.sync.merge import merge_text, text_of

MAX_PATCH_CHARS = 1_000_000


@dataclass(frozen=True)
class FileChange:
    path: str
    base_hash: str | None  # None: the agent added the file
    new_hash: str | None  # None: the agent deleted it


def _lines(data: bytes | None) -> list[str] | None:
    return [] if data is None else text_of(data)


def file_diff(path: str, before: bytes | None, after: bytes | None) -> str:
    old, new = _lines(before), _lines(after)
    if old is None or new is None:
        return f"Binary files a/{path} and b/{path} differ\n"
    source = "/dev/null" if before is None else f"a/{path}"
    target = "/dev/null" if after is None else f"b/{path}"
    lines = difflib.unified_diff(old, new, source, target)
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def unified_diff(files: list[tuple[str, bytes | None, bytes | None]]) -> str:
    """The diff of every (path, before, after), bounded to MAX_PATCH_CHARS."""
    text = "".join(file_diff(path, before, after) for path, before, after in files)
    if len(text) > MAX_PATCH_CHARS:
        return text[:MAX_PATCH_CHARS] + "\n[the patch is longer; it was cut here]\n"
    return text


@dataclass(frozen=True)
class Applied:
    """What one change leaves at its path: new bytes, a deletion, or nothing to do."""

    data: bytes | None
    delete: bool = False
    unchanged: bool = False


def apply_change(
    change: FileChange,
    *,
    current_hash: str | None,
    base: bytes | None,
    current: bytes | None,
    new: bytes | None,
) -> Applied | None:
    """The result of applying `change` over the current content; None for a conflict."""
    if current_hash == change.new_hash:
        return Applied(None, unchanged=True)
    if current_hash == change.base_hash:
        return Applied(new, delete=change.new_hash is None)
    if None in (base, current, new):
        return None
    assert base is not None and current is not None and new is not None
    merged = merge_text(base, new, current)
    return None if merged is None else Applied(merged)
