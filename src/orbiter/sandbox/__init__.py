"""Sandboxes on this host (an adapter: imports only core): the SandboxRunner protocol and its
bubblewrap implementation, chosen from the settings at start-up."""

from pathlib import Path

from orbiter.core.settings import Settings
from orbiter.sandbox.bwrap import BwrapRunner, disk_usage
from orbiter.sandbox.expose import Exposed, TcpForward
from orbiter.sandbox.limits import LIMIT_MESSAGES, Limits
from orbiter.sandbox.runner import HOME, SCRIPTS, Command, CommandResult, SandboxRunner


def sandbox_root(settings: Settings) -> Path:
    return (settings.sandbox_dir or settings.data_dir / "sandboxes").resolve()


def create_runner(settings: Settings) -> SandboxRunner:
    return BwrapRunner(
        root=sandbox_root(settings),
        bwrap=settings.sandbox_bwrap_path,
        network=settings.sandbox_network,
        uid=settings.sandbox_uid,
        extra_ro_binds=tuple(settings.sandbox_ro_binds),
        python=settings.sandbox_python,
    )


def plan_limit(settings: Settings, plan: str, name: str) -> float:
    """A sandbox limit on `plan` (SANDBOX_PLAN_LIMIT_NAMES): the plan's own value in
    `sandbox_plan_limits`, else the `sandbox_<name>` setting (the free plan's)."""
    value: float = settings.sandbox_plan_limits.get(plan, {}).get(
        name, getattr(settings, f"sandbox_{name}")
    )
    return value


def limits_from(settings: Settings, plan: str = "free") -> Limits:
    """Read each time a command starts, so a changed setting applies to the next command."""

    def limit(name: str) -> float:
        return plan_limit(settings, plan, name)

    return Limits(
        cpu_seconds=int(limit("cpu_seconds")),
        memory_bytes=int(limit("memory_bytes")),
        processes=int(limit("processes")),
        file_bytes=int(limit("file_bytes")),
        disk_bytes=int(limit("disk_bytes")),
        tmp_bytes=settings.sandbox_tmp_bytes,
        wall_seconds=limit("command_seconds"),
        output_bytes=settings.sandbox_output_bytes,
    )


__all__ = [
    "HOME",
    "LIMIT_MESSAGES",
    "SCRIPTS",
    "BwrapRunner",
    "Command",
    "CommandResult",
    "Exposed",
    "Limits",
    "SandboxRunner",
    "TcpForward",
    "create_runner",
    "disk_usage",
    "limits_from",
    "plan_limit",
    "sandbox_root",
]
