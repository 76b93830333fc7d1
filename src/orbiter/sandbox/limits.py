"""What one sandboxed command may use, and how each limit is enforced.

Kernel resource limits (`prlimit`, run as the sandbox's first process, so they apply inside
its own user namespace): CPU seconds (SIGXCPU, then SIGKILL), address space (allocations
fail: Python raises MemoryError), processes (RLIMIT_NPROC, counted per user namespace, so
one sandbox's processes do not count against another's) and the size of one file
(SIGXFSZ). The runner itself enforces the rest: the wall clock of a command (the whole
process tree is killed), the disk quota of the work dir (its size is checked while the
command runs and after it), and how much output is kept.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int
    memory_bytes: int
    processes: int
    file_bytes: int
    disk_bytes: int
    tmp_bytes: int
    wall_seconds: float
    output_bytes: int

    def prlimit_argv(self) -> list[str]:
        """`prlimit` with the kernel's limits, to be followed by the command."""
        return [
            "prlimit",
            # SIGXCPU at the soft limit (reported as `cpu`), SIGKILL a second later
            f"--cpu={self.cpu_seconds}:{self.cpu_seconds + 1}",
            f"--as={self.memory_bytes}",
            f"--nproc={self.processes}",
            f"--fsize={self.file_bytes}",
            "--core=0",
            "--",
        ]


# Which limit a command ran into, as the API reports it (`limit`).
WALL_CLOCK = "wall_clock"
DISK_QUOTA = "disk_quota"
CPU = "cpu"
FILE_SIZE = "file_size"

# A process the kernel killed for a limit: bubblewrap exits with 128 + the signal.
SIGNAL_LIMITS = {
    128 + signal.SIGXCPU: CPU,
    128 + signal.SIGXFSZ: FILE_SIZE,
}

LIMIT_MESSAGES = {
    WALL_CLOCK: "the command ran longer than its wall-clock limit and was killed",
    DISK_QUOTA: "the sandbox's files grew past its disk quota; the command was killed",
    CPU: "the command used up its CPU-time limit and was killed",
    FILE_SIZE: "the command wrote a file larger than the file-size limit and was killed",
}
