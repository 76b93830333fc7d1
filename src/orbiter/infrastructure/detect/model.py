"""What detection finds, each finding with its evidence (file and line)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Evidence:
    file: str
    line: int  # 1-based; 0 when the finding is the file itself (e.g. a lock file exists)
    text: str


@dataclass(frozen=True)
class Finding:
    kind: str  # runtime, framework, database, cache, entry, start, build, port, health, env...
    value: str
    evidence: Evidence


@dataclass
class Plan:
    """How to run the app: what a deploy needs. `$PORT` in `start_command` is the port the
    app must listen on (also passed as the `PORT` environment variable)."""

    runtime: str | None = None  # node, python, go, docker
    runtime_version: str | None = None
    framework: str | None = None
    install_command: str | None = None
    build_command: str | None = None
    start_command: str | None = None
    port: int | None = None  # a fixed port the app listens on, when it ignores $PORT
    health_path: str = "/"
    env_vars: list[str] = field(default_factory=list)


@dataclass
class Detection:
    plan: Plan = field(default_factory=Plan)
    findings: list[Finding] = field(default_factory=list)

    def add(self, kind: str, value: str, source: Source, line: int) -> None:
        finding = Finding(kind, value, Evidence(source.path, line, source.line(line)))
        if finding not in self.findings:
            self.findings.append(finding)

    def values(self, kind: str) -> list[str]:
        return list(dict.fromkeys(f.value for f in self.findings if f.kind == kind))


@dataclass(frozen=True)
class Source:
    """A file's text, for finding the line a thing is on."""

    path: str
    text: str

    @classmethod
    def of(cls, path: str, data: bytes) -> Source:
        return cls(path, data.decode("utf-8", errors="replace"))

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def line(self, number: int) -> str:
        lines = self.lines
        return lines[number - 1].strip()[:200] if 0 < number <= len(lines) else ""

    def find(self, pattern: str | re.Pattern[str]) -> tuple[int, re.Match[str]] | None:
        """The first line matching `pattern` (1-based) and its match."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        for number, text in enumerate(self.lines, start=1):
            if match := regex.search(text):
                return number, match
        return None

    def find_all(self, pattern: str) -> list[tuple[int, re.Match[str]]]:
        regex = re.compile(pattern)
        return [(n, m) for n, t in enumerate(self.lines, start=1) if (m := regex.search(t))]

    def line_of(self, pattern: str) -> int:
        found = self.find(pattern)
        return found[0] if found else 1
