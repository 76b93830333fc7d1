"""Kill a sandbox's processes that another process on this host started.

Each sandbox command is a bubblewrap process leading its own session (`--new-session`,
started with `start_new_session`) whose argv binds the sandbox's work dir at HOME. Killing
that session kills the sandbox's init (`--die-with-parent`) and with it, the kernel kills
everything in the sandbox's PID namespace. Only processes of this user can be seen and killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from orbiter.sandbox.runner import HOME


def kill_sessions_binding(work_dir: Path) -> int:
    """SIGKILL the session of every bubblewrap process that binds `work_dir` at HOME; how
    many were found."""
    wanted = ["--bind", str(work_dir), HOME]
    found = 0
    for pid in _pids():
        if _binds(pid, wanted):
            found += 1
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
    return found


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _binds(pid: int, wanted: list[str]) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            argv = file.read().decode("utf-8", errors="replace").split("\0")
    except OSError:
        return False
    width = len(wanted)
    return any(argv[i : i + width] == wanted for i in range(len(argv) - width + 1))
