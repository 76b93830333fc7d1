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


def limits_from(settings: Settings) -> Limits:
    """Read each time a command starts, so a changed setting applies to the next command."""
    return Limits(
        cpu_seconds=settings.sandbox_cpu_seconds,
        memory_bytes=settings.sandbox_memory_bytes,
        processes=settings.sandbox_processes,
        file_bytes=settings.sandbox_file_bytes,
        disk_bytes=settings.sandbox_disk_bytes,
        tmp_bytes=settings.sandbox_tmp_bytes,
        wall_seconds=settings.sandbox_command_seconds,
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
    "sandbox_root",
]
