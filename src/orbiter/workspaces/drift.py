"""Drift between two workspaces: a pure, fast comparison of two manifests (API.md "Drift").

Every path falls in exactly one of `source_only`, `workspace_only`, `both_same` and
`both_different`. Two entries are the same when their type, content hash, symlink target and
file mode agree (sizes and modification times do not decide anything).
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orbiter.blobs.manifest import Manifest, ManifestEntry

LARGE_FILE_BYTES = 200_000  # "a differing file of 200 kB or more"
TOP_OVERLAP_FILES = 20
HIGH_RISK_OVERLAP_FILES = 10
HIGH_RISK_OVERLAP_RATIO = 0.6
MAX_LISTED_PATHS = 1000  # per category in stored/returned reports; counts stay exact
NO_EXTENSION = "(none)"
CATEGORIES = ("source_only", "workspace_only", "both_same", "both_different")


def _identity(entry: ManifestEntry) -> tuple[str, str | None, str | None, int]:
    return (entry.type, entry.hash, entry.target, entry.mode)


def extension(path: str) -> str:
    """`.py` for `src/app.py`; `(none)` for `Makefile` or `.gitignore`."""
    ext = posixpath.splitext(path)[1].lower()
    return ext or NO_EXTENSION


@dataclass
class Comparison:
    """Paths sorted within each category; `large_files` are differing files ≥ 200 kB."""

    source_only: list[str] = field(default_factory=list)
    workspace_only: list[str] = field(default_factory=list)
    both_same: list[str] = field(default_factory=list)
    both_different: list[str] = field(default_factory=list)
    large_files: list[str] = field(default_factory=list)
    bytes_changed: int = 0

    @property
    def overlap_ratio(self) -> float:
        divisor = len(self.source_only) + len(self.both_different)
        return len(self.both_different) / divisor if divisor else 0.0

    @property
    def risk_level(self) -> str:
        both = len(self.both_different)
        if both == 0:
            return "low"
        if both >= HIGH_RISK_OVERLAP_FILES or self.overlap_ratio >= HIGH_RISK_OVERLAP_RATIO:
            return "high"
        return "medium"

    def counts_by_ext(self) -> dict[str, dict[str, int]]:
        return {
            name: dict(sorted(Counter(map(extension, getattr(self, name))).items()))
            for name in ("source_only", "workspace_only", "both_different")
        }

    def summary(self) -> str:
        if not (self.source_only or self.workspace_only or self.both_different):
            return "In sync: both sides have the same files"
        return (
            f"{len(self.source_only)} only in the source, "
            f"{len(self.workspace_only)} only in this workspace, "
            f"{len(self.both_different)} different on both sides"
        )


def compare_manifests(workspace: Manifest, source: Manifest) -> Comparison:
    """Classify every path of the two manifests. Linear in their sizes."""
    result = Comparison()
    source_by_path = {entry.path: entry for entry in source.files}
    seen: set[str] = set()
    large = LARGE_FILE_BYTES
    bytes_changed = 0
    for entry in workspace.files:
        path = entry.path
        other = source_by_path.get(path)
        if other is None:
            result.workspace_only.append(path)
            size = entry.size
        else:
            seen.add(path)
            if _identity(entry) == _identity(other):
                result.both_same.append(path)
                continue
            result.both_different.append(path)
            size = max(entry.size, other.size)
        bytes_changed += size
        if size >= large:
            result.large_files.append(path)
    for entry in source.files:
        if entry.path not in seen:
            result.source_only.append(entry.path)
            bytes_changed += entry.size
            if entry.size >= large:
                result.large_files.append(entry.path)
    result.large_files.sort()
    result.bytes_changed = bytes_changed
    return result


def report_details(comparison: Comparison) -> dict[str, Any]:
    """The JSON stored with a compare drift report (everything but the time-dependent parts)."""
    counts = {name: len(getattr(comparison, name)) for name in CATEGORIES}
    truncated = any(n > MAX_LISTED_PATHS for n in counts.values())
    return {
        **{name: getattr(comparison, name)[:MAX_LISTED_PATHS] for name in CATEGORIES},
        "counts": counts,
        "truncated": truncated,
        "total_drift_files": counts["source_only"] + counts["both_different"],
        "has_overlaps": counts["both_different"] > 0,
        "overlap_ratio": comparison.overlap_ratio,
        "risk_level": comparison.risk_level,
        "top_overlap_files": comparison.both_different[:TOP_OVERLAP_FILES],
        "counts_by_ext": comparison.counts_by_ext(),
        "large_files_changed": bool(comparison.large_files),
        "large_files": comparison.large_files[:TOP_OVERLAP_FILES],
    }


def staleness_hours(compared_at: datetime, now: datetime) -> float:
    return round(max(0.0, (now - compared_at).total_seconds()) / 3600, 2)
