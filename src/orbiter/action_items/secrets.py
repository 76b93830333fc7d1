"""Security: hard-coded secrets (private keys, cloud and GitHub tokens, assigned passwords).

The secret itself is never stored: a finding names the file, the line and the rule, and its
fingerprint hashes the secret so the same secret is the same finding wherever it moves.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

from orbiter.action_items.findings import Finding, fingerprint

RULES: tuple[tuple[str, str, re.Pattern[str], str], ...] = (
    (
        "private-key",
        "critical",
        re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
        "a private key",
    ),
    ("aws-access-key", "critical", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS key"),
    (
        "github-token",
        "critical",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
        "a GitHub token",
    ),
    (
        "assigned-secret",
        "high",
        re.compile(
            r"(?i)\b[\w.-]*(?:password|passwd|secret|api_?key|access_?token|auth_?token)"
            r"[\w.-]*[\"']?\s*[:=]\s*[\"']([^\"'\s]{8,})[\"']"
        ),
        "a password or secret assigned in code",
    ),
)
PLACEHOLDER = re.compile(r"(?i)^(?:\$\{.*\}|<.*>|x+|\*+|changeme|change-me|example.*|your.*)$")
SKIPPED_NAMES = (".env.example", ".env.sample", ".env.template")


def _secret(match: re.Match[str]) -> str:
    return match.group(1) if match.groups() else match.group(0)


def find_secrets(path: str, text: str) -> Iterator[Finding]:
    if path.rsplit("/", 1)[-1] in SKIPPED_NAMES:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        for rule, severity, pattern, what in RULES:
            match = pattern.search(line)
            if match is None or PLACEHOLDER.match(_secret(match)):
                continue
            digest = hashlib.sha256(_secret(match).encode()).hexdigest()
            yield Finding(
                kind="security",
                rule=rule,
                severity=severity,
                title=f"Hard-coded secret in {path}",
                description=(
                    f"Line {number} of {path} holds {what}. Move it to an environment "
                    "variable or a secret store, and rotate it: it is in the history."
                ),
                path=path,
                line=number,
                fingerprint=fingerprint("security", rule, path, digest),
            )
            break  # one finding per line
