"""What a deployment runs: what detection found in the files (`infrastructure.detect`),
with the workspace's deployment settings taking precedence field by field.

A `runtime_override` other than the detected runtime drops the detected commands (they are
for another runtime), so the settings' commands are needed then. The detected install
command (it downloads dependencies) runs only when sandboxes have the network
(`ORBITER_SANDBOX_NETWORK`); the plan's notes say so when it is left out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from orbiter.infrastructure.detect import ProjectDetection
from orbiter.models import DeploymentSettings

DEFAULT_HEALTH_PATH = "/"


@dataclass(frozen=True)
class Plan:
    runtime: str | None = None
    framework: str | None = None
    build_command: str | None = None
    start_command: str | None = None
    health_path: str = DEFAULT_HEALTH_PATH
    port: int | None = None  # a fixed port the app listens on (else $PORT)
    requirements: list[dict[str, Any]] = field(default_factory=list)
    source: str = "detected"  # where the start command came from: detected or settings
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> list[str]:
        runtime = self.runtime or "unknown"
        needs = ", ".join(str(r["type"]) for r in self.requirements) or "nothing"
        return [
            f"runtime: {runtime}" + (f" ({self.framework})" if self.framework else ""),
            f"build: {self.build_command or '(none)'}",
            f"start ({self.source}): {self.start_command or '(none)'}",
            f"health check: GET {self.health_path}",
            f"needs: {needs}",
            *self.notes,
        ]


def make_plan(
    settings: DeploymentSettings | None, detected: ProjectDetection, *, network: bool
) -> Plan:
    found = detected.plan
    override = settings.runtime_override if settings else None
    same_runtime = override is None or override == found.runtime
    notes: list[str] = []
    own_start = settings.start_command if settings else None
    own_build = settings.build_command if settings else None
    if own_build is None and same_runtime:
        own_build = _detected_build(found.install_command, found.build_command, network, notes)
    health = settings.health_check_path if settings else DEFAULT_HEALTH_PATH
    if health == DEFAULT_HEALTH_PATH and same_runtime:
        health = found.health_path or DEFAULT_HEALTH_PATH
    return Plan(
        runtime=override or found.runtime,
        framework=found.framework if same_runtime else None,
        build_command=own_build,
        start_command=own_start or (found.start_command if same_runtime else None),
        health_path=health,
        port=found.port if same_runtime and own_start is None else None,
        requirements=[
            {"type": r.type, "env_var": r.env_var, "reason": r.reason}
            for r in detected.suggested_resources
        ],
        source="settings" if own_start else "detected",
        notes=notes,
    )


def _detected_build(
    install: str | None, build: str | None, network: bool, notes: list[str]
) -> str | None:
    steps = []
    if install and network:
        steps.append(install)
    elif install:
        notes.append(f"not run (sandboxes have no network to download with): {install}")
    if build:
        steps.append(build)
    return " && ".join(steps) or None
