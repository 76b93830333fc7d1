"""The bubblewrap SandboxRunner.

Every command is one `bwrap` process tree:

* all namespaces unshared (`--unshare-all`: user, pid, network, ipc, uts, cgroup, mount),
  and no user namespaces of its own inside (`--disable-userns`: less kernel to attack);
  the network namespace is shared only when the operator allows it (`network=True`), else
  the sandbox sees nothing but its own `lo`;
* a root of its own: the host's system directories (/usr and the /bin, /lib... links or
  directories) and a few harmless /etc files bound read-only, the work dir bound writable
  at HOME, a size-capped tmpfs at /tmp and /dev/shm, fresh /proc and /dev, the rest of /
  read-only: no other host path (no /etc/shadow, no data dir) exists inside;
* `--cap-drop ALL`, no new privileges (bubblewrap always sets it), `--new-session` (no
  terminal injection), `--die-with-parent`; with --unshare-pid the sandbox's init dies with
  the command's main process and the kernel kills the whole namespace with it, so nothing
  started in the background survives the command;
* started as an unprivileged host user when the server runs as root (`uid`, default 65534),
  so the kernel's per-user limits apply (root ignores RLIMIT_NPROC);
* bounded by limits.Limits (prlimit inside; wall clock and disk quota watched from here).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from orbiter.sandbox.expose import Exposed, bind_socket, kill_group
from orbiter.sandbox.limits import DISK_QUOTA, SIGNAL_LIMITS, WALL_CLOCK, Limits
from orbiter.sandbox.runner import HOME, SCRIPTS, SCRIPTS_DIR, Command, CommandResult
from orbiter.sandbox.spawn import Spawned, spawn

SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_FILES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "localtime",
    "passwd",
    "group",
    "nsswitch.conf",
    "ssl",
    "ca-certificates",
    "mime.types",
)
NETWORK_ETC_FILES = ("resolv.conf", "hosts")
PATH = "/usr/local/bin:/usr/bin:/bin"
POLL_SECONDS = 0.1  # how often a running command's wall clock and disk use are checked
DRAIN_SECONDS = 2.0  # after the command: how long its output may still take to arrive
PROBE_SECONDS = 10.0
INLINE_SCAN_ENTRIES = 200  # a work dir this small is measured without a thread after a command


@dataclass
class BwrapRunner:
    root: Path  # the sandboxes' work dirs are made under it
    bwrap: str = "bwrap"
    network: bool = False
    uid: int | None = None  # host user the sandbox runs as (when we are root)
    extra_ro_binds: tuple[str, ...] = ()
    python: str = "/usr/bin/python3"  # the sandbox's Python, which runs the forwarder of `serve`
    _running: dict[str, set[Spawned]] = field(default_factory=dict)
    _works: bool = False  # a probe succeeded
    _serving: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def _host_uid(self) -> int | None:
        return self.uid if os.geteuid() == 0 else None

    def unavailable_reason(self) -> str | None:
        if shutil.which(self.bwrap) is None:
            return f"bubblewrap ({self.bwrap}) is not installed on this host"
        for tool in ("prlimit", "setpriv"):
            if shutil.which(tool) is None:
                return f"{tool} (util-linux) is not installed on this host"
        return None

    def has_program(self, path: str) -> bool:
        return Path(path).is_file() and os.access(path, os.X_OK)

    def prepare(self, work_dir: Path) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        work_dir.chmod(0o700)
        self.hand_over(work_dir)

    def hand_over(self, path: Path) -> None:
        uid = self._host_uid
        if uid is not None:
            os.chown(path, uid, uid, follow_symlinks=False)

    @property
    def scripts_dir(self) -> Path:
        return self.root / ".scripts"

    async def probe(self, limits: Limits) -> str | None:
        """Set up the root and run `true`: None when sandboxes work here, else why not. A
        success is remembered; a failure is tried again next time (it may be fixed by then)."""
        if not self._works:
            if reason := self.unavailable_reason():
                return reason
            await asyncio.to_thread(self._set_up_root)
            scratch = self.root / ".probe"
            self.prepare(scratch)
            result = await self.run(
                "probe", scratch, Command(["true"]), replace(limits, wall_seconds=PROBE_SECONDS)
            )
            if result.exit_code != 0:
                return _explain(result.stderr, self)
            self._works = True
        return None

    def _set_up_root(self) -> None:
        """The root (0711: others may pass, not list) and a copy of the helper scripts the
        sandbox's user can read wherever Orbiter is installed."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        shutil.copytree(SCRIPTS_DIR, self.scripts_dir, dirs_exist_ok=True)
        self.scripts_dir.chmod(0o755)
        for script in self.scripts_dir.iterdir():
            script.chmod(0o644)

    def argv(self, work_dir: Path, command: Command, limits: Limits, side_fd: int) -> list[str]:
        args = []
        if (uid := self._host_uid) is not None:  # (uvloop's subprocesses take no `user=`)
            args += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        args += [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
        args += ["--die-with-parent", "--new-session"]
        args += ["--cap-drop", "ALL", "--hostname", "sandbox"]
        if self.network:
            args.append("--share-net")
        args += _system_binds(self.network, self.extra_ro_binds)
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]  # noqa: S108
        args += ["--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]  # noqa: S108
        args += ["--bind", str(work_dir), HOME, "--ro-bind", str(self.scripts_dir), SCRIPTS]
        args += ["--remount-ro", "/", "--chdir", command.cwd, "--clearenv"]
        env = {
            "PATH": PATH,
            "HOME": HOME,
            "TMPDIR": "/tmp",  # noqa: S108 - the sandbox's own tmpfs
            "LANG": "C.UTF-8",
            "ORBITER_SIDE_FD": str(side_fd),
            **command.env,
        }
        for name, value in env.items():
            args += ["--setenv", name, value]
        return [*args, "--", *limits.prlimit_argv(), *command.argv]

    async def run(
        self, key: str, work_dir: Path, command: Command, limits: Limits
    ) -> CommandResult:
        read_fd, write_fd = os.pipe()
        try:
            proc = await spawn(
                self.argv(work_dir, command, limits, write_fd), stdin=True, pass_fds=(write_fd,)
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._running.setdefault(key, set()).add(proc)
        try:
            return await self._supervise(proc, read_fd, work_dir, command, limits)
        except BaseException:  # e.g. the request was cancelled: the command goes with it
            _kill_tree(proc)
            raise
        finally:
            running = self._running.get(key, set())
            running.discard(proc)
            if not running:
                self._running.pop(key, None)

    @property
    def sockets_dir(self) -> Path:
        return self.root / ".sockets"

    def server_socket(self, key: str) -> Path:
        return self.sockets_dir / f"{key}.sock"

    async def serve(
        self, key: str, work_dir: Path, command: Command, limits: Limits, *, port: int
    ) -> Exposed:
        """Start `command` (a server on `port` inside the sandbox) in a long-lived sandbox
        and expose it through a Unix socket (expose.py). No wall clock: it runs until closed,
        killed with `kill(key)`, or it exits."""
        path = self.server_socket(key)
        listener = bind_socket(path)
        fd = listener.fileno()
        forwarder = [self.python, f"{SCRIPTS}/expose.py", str(fd), str(port), *command.argv]
        read_fd, write_fd = os.pipe()
        try:
            proc = await spawn(
                self.argv(work_dir, replace(command, argv=forwarder), limits, write_fd),
                stdin=False,
                pass_fds=(write_fd, fd),
            )
        except BaseException:
            os.close(read_fd)
            listener.close()
            raise
        finally:
            os.close(write_fd)
        self._running.setdefault(key, set()).add(proc)
        exposed = Exposed(path, port, proc, listener, limits.output_bytes)
        task = asyncio.create_task(
            self._serve_until_exit(key, exposed, read_fd, work_dir, limits), name=f"serve:{key}"
        )
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)
        return exposed

    async def _serve_until_exit(
        self, key: str, exposed: Exposed, side_fd: int, work_dir: Path, limits: Limits
    ) -> None:
        try:
            await exposed.supervise(side_fd, work_dir, limits.disk_bytes, disk_usage)
        finally:
            running = self._running.get(key, set())
            running.discard(exposed.process)
            if not running:
                self._running.pop(key, None)

    async def _supervise(
        self,
        proc: Spawned,
        side_fd: int,
        work_dir: Path,
        command: Command,
        limits: Limits,
    ) -> CommandResult:
        assert proc.stdin and proc.stdout and proc.stderr
        cap = limits.output_bytes
        side, side_transport = await _pipe_reader(side_fd)
        drains = [
            asyncio.ensure_future(_drain(stream, cap))
            for stream in (proc.stdout, proc.stderr, side)
        ]
        feeder = asyncio.ensure_future(_feed(proc.stdin, command.stdin))
        limit = await self._watch(proc, work_dir, limits)
        feeder.cancel()
        stdout, stderr, side_text = await _collect(drains)
        side_transport.close()
        code = proc.returncode if proc.returncode is not None else -1
        code = 128 - code if code < 0 else code  # killed by us: 128 + the signal, like a shell
        return CommandResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=code,
            side=side_text,
            limit=limit or SIGNAL_LIMITS.get(code),
        )

    async def _watch(self, proc: Spawned, work_dir: Path, limits: Limits) -> str | None:
        """Wait for the command; kill its tree at the wall clock or over the disk quota."""
        deadline = time.monotonic() + limits.wall_seconds
        start_usage, entries = await asyncio.to_thread(_scan, work_dir)
        inline = 0 <= entries < INLINE_SCAN_ENTRIES
        waiter = asyncio.ensure_future(proc.wait())
        limit: str | None = None
        while limit is None:
            remaining = deadline - time.monotonic()
            done, _ = await asyncio.wait({waiter}, timeout=max(0.0, min(POLL_SECONDS, remaining)))
            if done:
                break
            if time.monotonic() >= deadline:
                limit = WALL_CLOCK
            elif await _over_quota(work_dir, limits.disk_bytes, start_usage, inline=False):
                limit = DISK_QUOTA
        if limit is not None:
            _kill_tree(proc)
            await waiter
        elif await _over_quota(work_dir, limits.disk_bytes, start_usage, inline=inline):
            limit = DISK_QUOTA
        return limit

    async def kill(self, key: str) -> None:
        procs = list(self._running.get(key, ()))
        for proc in procs:
            _kill_tree(proc)
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                await proc.wait()
        # a server's socket is closed and unlinked by the time kill returns
        serving = [task for task in self._serving if task.get_name() == f"serve:{key}"]
        await asyncio.gather(*serving, return_exceptions=True)

    async def kill_all(self) -> None:
        """Kill what this process started (at its shutdown)."""
        for key in list(self._running):
            await self.kill(key)


def _explain(stderr: str, runner: BwrapRunner) -> str:
    reason = stderr.strip() or "bubblewrap failed"
    if runner._host_uid is not None and "Permission denied" in reason:
        reason += (
            f" (sandboxes run as uid {runner.uid}: every directory above {runner.root} must "
            "be searchable by others (o+x), or set ORBITER_SANDBOX_DIR to one that is)"
        )
    return reason


def _system_binds(network: bool, extra: tuple[str, ...]) -> list[str]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES + (NETWORK_ETC_FILES if network else ()):
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for path_text in extra:
        args += ["--ro-bind-try", path_text, path_text]
    return args


def _kill_tree(proc: Spawned) -> None:
    """SIGKILL bubblewrap's process group: the sandbox's init dies with it
    (--die-with-parent), and with the init the kernel kills every process in the sandbox."""
    kill_group(proc)


def disk_usage(root: Path) -> int:
    """Bytes the files under `root` occupy on disk (allocated blocks, so sparse files count
    for what they use), without following links."""
    return _scan(root)[0]


def _scan(root: Path, give_up_after: int | None = None) -> tuple[int, int]:
    """disk_usage, and how many entries it looked at (-1 when it gave up past
    `give_up_after` entries)."""
    total = entries = 0
    stack = [root]
    while stack:
        if give_up_after is not None and entries > give_up_after:
            return total, -1
        try:
            found = list(os.scandir(stack.pop()))
        except OSError:
            continue
        entries += len(found)
        for entry in found:
            with contextlib.suppress(OSError):
                stat = entry.stat(follow_symlinks=False)
                total += stat.st_blocks * 512
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
    return total, entries


async def _over_quota(work_dir: Path, quota: int, start_usage: int, *, inline: bool) -> bool:
    """Over the quota and grown during this command (so a command that deletes files to get
    back under the quota is not killed for what was there before). A small work dir is
    measured right here: its answer is due now, and a thread hand-off costs more."""
    usage, entries = _scan(work_dir, 4 * INLINE_SCAN_ENTRIES) if inline else (0, -1)
    if entries < 0:  # grown large meanwhile: walked in a thread
        usage = await asyncio.to_thread(disk_usage, work_dir)
    return usage > quota and usage > start_usage


async def _pipe_reader(fd: int) -> tuple[asyncio.StreamReader, asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader, transport


async def _drain(stream: asyncio.StreamReader, cap: int) -> str:
    """Everything `stream` sends until it closes; the first `cap` bytes are kept."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < cap:
            kept += chunk[: cap - len(kept)]
    return kept.decode("utf-8", errors="replace")


async def _feed(stdin: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(ConnectionError, BrokenPipeError):
        if data:
            stdin.write(data)
            await stdin.drain()
        stdin.close()


async def _collect(drains: Sequence[asyncio.Future[str]]) -> tuple[str, str, str]:
    done: list[str] = []
    for drain in drains:
        try:
            done.append(await asyncio.wait_for(asyncio.shield(drain), DRAIN_SECONDS))
        except TimeoutError:
            drain.cancel()
            done.append("")
    return done[0], done[1], done[2]
