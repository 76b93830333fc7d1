"""What a deployment runs: the workspace's deployment settings' commands, else what detection
found in its files."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from orbiter.models import DeploymentSettings

DEFAULT_HEALTH_PATH = "/"


@dataclass(frozen=True)
class Plan:
    runtime: str | None = None
    framework: str | None = None
    build_command: str | None = None
    start_command: str | None = None
    health_path: str = DEFAULT_HEALTH_PATH
    requirements: list[Any] = field(default_factory=list)
    source: str = "settings"  # where the commands came from: settings or detected

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> list[str]:
        return [
            f"runtime: {self.runtime or 'unknown'}"
            + (f" ({self.framework})" if self.framework else ""),
            f"build: {self.build_command or '(none)'}",
            f"start: {self.start_command or '(none)'}",
            f"health check: GET {self.health_path}",
        ]


def make_plan(settings: DeploymentSettings | None) -> Plan:
    if settings is None:
        return Plan()
    return Plan(
        runtime=settings.runtime_override,
        build_command=settings.build_command,
        start_command=settings.start_command,
        health_path=settings.health_check_path,
    )
