"""A finding of the analyzer, and its fingerprint (stable across line moves)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SEVERITIES = ("critical", "high", "medium", "low")


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Finding:
    kind: str  # security | test_coverage | refactoring
    rule: str
    severity: str
    title: str
    description: str
    path: str | None
    line: int | None
    fingerprint: str
