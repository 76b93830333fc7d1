"""`detect_project`: what a project needs and how to run it, from its files alone.

Pure: takes `{path: bytes}` (the files the caller read; lock files may be empty, only their
presence counts) and returns the plan a deploy follows (runtime, framework, install, build
and start commands, port, health path), the resources it needs, and every finding with its
evidence (file and line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from orbiter.infrastructure.detect import clients
from orbiter.infrastructure.detect.docker import (
    detect_dockerfile,
    detect_env_example,
    detect_procfile,
)
from orbiter.infrastructure.detect.go import detect_go
from orbiter.infrastructure.detect.model import Detection, Evidence, Finding, Plan
from orbiter.infrastructure.detect.node import detect_node
from orbiter.infrastructure.detect.python import detect_python


@dataclass(frozen=True)
class SuggestedResource:
    type: str
    env_var: str
    reason: str
    evidence: list[Evidence]


@dataclass
class ProjectDetection:
    plan: Plan
    findings: list[Finding]
    databases: list[str] = field(default_factory=list)
    caches: list[str] = field(default_factory=list)
    suggested_resources: list[SuggestedResource] = field(default_factory=list)


def detect_project(files: Mapping[str, bytes]) -> ProjectDetection:
    detection = Detection()
    found = (
        detect_node(files, detection)
        or detect_python(files, detection)
        or detect_go(files, detection)
    )
    detect_dockerfile(files, detection, alone=not found)
    detect_procfile(files, detection)
    detect_env_example(files, detection)
    databases, caches = detection.values("database"), detection.values("cache")
    return ProjectDetection(
        plan=detection.plan,
        findings=detection.findings,
        databases=databases,
        caches=caches,
        suggested_resources=[_suggest(t, detection) for t in [*databases, *caches]],
    )


def _suggest(resource_type: str, detection: Detection) -> SuggestedResource:
    evidence = [
        f.evidence
        for f in detection.findings
        if f.kind in ("database", "cache") and f.value == resource_type
    ]
    files = ", ".join(dict.fromkeys(e.file for e in evidence))
    return SuggestedResource(
        type=resource_type,
        env_var=clients.ENV_VARS[resource_type],
        reason=f"A {resource_type} {clients.kind_of(resource_type)} is used ({files})",
        evidence=evidence,
    )
