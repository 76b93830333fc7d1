"""The deterministic analyzer: a workspace's text files in, findings out (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping

from orbiter.action_items.findings import Finding
from orbiter.action_items.secrets import find_secrets
from orbiter.action_items.structure import find_oversized, find_untested

MAX_FINDINGS = 500


def analyze(files: Mapping[str, str]) -> list[Finding]:
    """Every finding in `files` (path → text), one per fingerprint, at most MAX_FINDINGS."""
    found: dict[str, Finding] = {}
    for path in sorted(files):
        for finding in find_secrets(path, files[path]):
            found.setdefault(finding.fingerprint, finding)
    for finding in [*find_untested(files), *find_oversized(files)]:
        found.setdefault(finding.fingerprint, finding)
    return list(found.values())[:MAX_FINDINGS]
