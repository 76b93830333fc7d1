#!/usr/bin/env python3
"""What does Orbiter's stack cost per request, next to an app doing only the same I/O?

    python bench/http_overhead.py [--duration 5] [--connections 32] [--warmup 1] [--rounds 3]

Starts a throwaway PostgreSQL and Redis on loopback (the helpers of scripts/run_tests.py),
migrates, and serves Orbiter (`orbiter serve`, one worker, rate limits ON with a limit that is
never reached, log level WARNING) next to bench/reference_app.py (uvicorn, one worker, the
same server options): a minimal FastAPI app that does the I/O of the route directly on asyncpg
and redis (session read, one rate-limit script call, the page query with its total). It signs
a user with 30 projects in (plus the personal one) and gives a second user 10,000 more
(inserted with SQL, then VACUUM ANALYZE as autovacuum would), checks that both apps answer
byte-identical JSON (pages 1 and 2) and that Orbiter sends `RateLimit-*` headers, then puts
the same load (session cookie) on, interleaved, for `--rounds` rounds:

* Orbiter and the reference, `GET /api/v1/projects?limit=20` for the 31-project user;
* Orbiter, page 1 and page 500 (a cursor from walking the pages) for the 10,001-project user.

wrk when installed (installed with apt-get when run as root), else an asyncio httpx load
generator in this process. Prints, at the median of the rounds, req/s, p50, p99 and the
server process's CPU time per request (from /proc/<pid>/stat). Targets: Orbiter at least 0.6x
the reference's req/s; at 10,001 rows page 500 costs at most 1.1x page 1 (req/s), and page 1
at most 1.5x page 1 at 31 rows. Any non-2xx response or socket error fails the run. Every
process it starts is stopped again, also on Ctrl-C or failure.

Exit status: 0 when every target is met, 1 when one is missed or a check or setup failed,
2 when a server binary is missing, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402  (not a package)

VENV_BIN = Path(sys.executable).parent
PROJECTS = 30
MANY_PROJECTS = 10_000
FAR_PAGE = 500
PAGE = 20
PASSWORD = "correct horse battery staple"
NEVER_REACHED = 1_000_000_000
TARGET_RATIO = 0.6  # Orbiter req/s over the reference's
TARGET_FAR_PAGE = 1.1  # page 500's cost over page 1's, 10,001 rows
TARGET_MANY_ROWS = 1.5  # page 1's cost at 10,001 rows over page 1's at 31
POOL_SIZE = 20


def info(text: str) -> None:
    print(f"[bench] {text}", flush=True)


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx responses plus socket errors / timeouts
    cpu_ms: float  # server process CPU time per request


# --------------------------------------------------------------------------------------------
# Servers


def start_process(
    stack: contextlib.ExitStack, name: str, argv: list[str], env: dict[str, str], workdir: Path
) -> services.Server:
    """Like run_tests.start_server, with an explicit environment and working directory."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() takes its children too
        )
    server = services.Server(name, process, log_path)
    stack.callback(server.stop)
    return server


def http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def orbiter_env(stack: contextlib.ExitStack) -> dict[str, str]:
    tools = services.find_tools()
    pg_port, redis_port = services.free_ports(2)
    started = time.monotonic()
    database_url = services.start_postgres(stack, tools, pg_port)
    redis_url = services.start_redis(stack, tools, redis_port)
    info(f"PostgreSQL and Redis ready in {time.monotonic() - started:.1f}s")
    return services.base_env() | {
        "ORBITER_ENVIRONMENT": "development",
        "ORBITER_DATA_DIR": str(services.make_temp_dir(stack, "orbiter-bench-data-")),
        "ORBITER_DATABASE_URL": database_url,
        "ORBITER_DATABASE_POOL_SIZE": str(POOL_SIZE),
        "ORBITER_REDIS_URL": redis_url,
        "ORBITER_BLOB_STORE": "local",
        "ORBITER_SECRET_KEY": secrets.token_urlsafe(48),
        "ORBITER_RATE_LIMITS_ENABLED": "true",
        "ORBITER_RATE_LIMIT_FREE": str(NEVER_REACHED),
        "ORBITER_LOG_LEVEL": "WARNING",
    }


def embedded_env(stack: contextlib.ExitStack, prefix: str, **settings: str) -> dict[str, str]:
    """Orbiter on its embedded defaults (SQLite, local blobs) in a fresh data dir, rate limits
    off, plus `settings` (ORBITER_* variables)."""
    return (
        services.base_env()
        | {
            "ORBITER_ENVIRONMENT": "development",
            "ORBITER_DATA_DIR": str(services.make_temp_dir(stack, prefix)),
            "ORBITER_RATE_LIMITS_ENABLED": "false",
            "ORBITER_LOG_LEVEL": "WARNING",
        }
        | settings
    )


def serve_orbiter(
    stack: contextlib.ExitStack,
    env: dict[str, str],
    *,
    workdir: Path,
    port: int | None = None,
    workers: int = 1,
) -> tuple[str, int]:
    """Migrate, then run `orbiter serve` with `env`; its base URL and pid once healthy."""
    migrate = subprocess.run(
        [str(VENV_BIN / "orbiter"), "migrate"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode != 0:
        raise services.SetupError(f"orbiter migrate failed:\n{migrate.stdout}{migrate.stderr}")
    if port is None:
        (port,) = services.free_ports(1)
    argv = [str(VENV_BIN / "orbiter"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = start_process(stack, "orbiter", [*argv, "--workers", str(workers)], env, workdir)
    base_url = f"http://127.0.0.1:{port}"
    services.wait_until(server, lambda: http_ok(f"{base_url}/health"))
    return base_url, server.process.pid


def start_reference(
    stack: contextlib.ExitStack, env: dict[str, str], workdir: Path
) -> tuple[str, int]:
    """bench/reference_app.py under uvicorn with the options `orbiter serve` uses."""
    (port,) = services.free_ports(1)
    reference_env = env | {
        "REFERENCE_DATABASE_URL": env["ORBITER_DATABASE_URL"].replace("+asyncpg", ""),
        "REFERENCE_REDIS_URL": env["ORBITER_REDIS_URL"],
        "REFERENCE_POOL_SIZE": str(POOL_SIZE),
    }
    argv = [sys.executable, "-m", "uvicorn", "reference_app:app"]
    argv += ["--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", "1", "--no-server-header", "--no-proxy-headers", "--log-level", "warning"]
    server = start_process(stack, "reference", argv, reference_env, workdir)
    base_url = f"http://127.0.0.1:{port}"
    services.wait_until(server, lambda: http_ok(f"{base_url}/docs"))
    return base_url, server.process.pid


# --------------------------------------------------------------------------------------------
# Data


def sign_in(http: httpx.Client, email: str) -> dict[str, str]:
    """Register and log in; the CSRF header for writes. The client keeps the cookie."""
    body = {"email": email, "password": PASSWORD, "name": "Bench"}
    http.post("/api/v1/auth/register", json=body).raise_for_status()
    http.cookies.clear()
    login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    return {"X-CSRF-Token": login.json()["csrf_token"]}


def user_with_projects(base_url: str, email: str, projects: int) -> tuple[str, str]:
    """A signed-in user who created `projects` projects; (session cookie, user id)."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        csrf = sign_in(http, email)
        for number in range(1, projects + 1):
            project = {"name": f"bench project {number}", "description": "load test"}
            http.post("/api/v1/projects", json=project, headers=csrf).raise_for_status()
        me = http.get("/api/v1/auth/me")
        me.raise_for_status()
        cookie = http.cookies.get("orbiter_session")
        if not cookie:
            raise services.SetupError("login did not set the orbiter_session cookie")
        return cookie, str(me.json()["id"])


async def insert_projects(database_url: str, user_id: str, count: int) -> None:
    """`count` projects owned by the user, straight in SQL; then VACUUM ANALYZE, as autovacuum
    does after that many inserts (statistics for the planner, the visibility map for
    index-only counts)."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await connection.execute(
            """
            WITH made AS (
                INSERT INTO projects (id, name, description, is_personal, created_by,
                                      created_at, updated_at)
                SELECT gen_random_uuid(), 'bulk project ' || n, 'load test', false, $1,
                       now() - n * interval '1 second', now() - n * interval '1 second'
                FROM generate_series(1, $2) AS n
                RETURNING id, created_at
            )
            INSERT INTO project_members (project_id, user_id, role, created_at)
            SELECT id, $1, 'owner', created_at FROM made
            """,
            user_id,
            count,
        )
        await connection.execute("VACUUM ANALYZE projects, project_members")
    finally:
        await connection.close()


def far_page_cursor(base_url: str, cookie: str, page: int) -> str:
    """The cursor of page `page`, found by walking the pages as a client would."""
    cursor = ""
    with httpx.Client(base_url=base_url, timeout=30, cookies={"orbiter_session": cookie}) as http:
        for _ in range(page - 1):
            params = {"limit": str(PAGE)} | ({"cursor": cursor} if cursor else {})
            response = http.get("/api/v1/projects", params=params)
            response.raise_for_status()
            cursor = response.json()["pagination"]["next_cursor"]
            if not cursor:
                raise services.SetupError(f"the listing ended before page {page}")
    return cursor


def check_same_json(orbiter_url: str, reference_url: str, cookie: str) -> None:
    """Pages 1 and 2 from both apps must be the same bytes, each with RateLimit-* headers."""
    cursor = ""
    with httpx.Client(timeout=30, cookies={"orbiter_session": cookie}) as http:
        for page in (1, 2):
            params = {"limit": str(PAGE)} | ({"cursor": cursor} if cursor else {})
            ours = http.get(f"{orbiter_url}/api/v1/projects", params=params)
            theirs = http.get(f"{reference_url}/api/v1/projects", params=params)
            for name, response in (("Orbiter", ours), ("reference", theirs)):
                if response.status_code != 200:
                    raise services.SetupError(f"{name} page {page}: {response.status_code}")
                if "RateLimit-Remaining" not in response.headers:
                    raise services.SetupError(f"{name} page {page}: no RateLimit-* headers")
            if ours.content != theirs.content:
                raise services.SetupError(
                    f"page {page} differs:\nOrbiter:   {ours.text[:400]}\n"
                    f"reference: {theirs.text[:400]}"
                )
            cursor = ours.json()["pagination"]["next_cursor"]
    info("Orbiter and the reference answer byte-identical pages 1 and 2")


# --------------------------------------------------------------------------------------------
# Load generators


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        raise ValueError(f"cannot parse wrk duration {value!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """(req/s, p50 ms, p99 ms, requests, errors) from `wrk --latency`."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"(\d+) requests in", output)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    errors = 0
    if non_2xx := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        errors += int(non_2xx.group(1))
    if socket := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        errors += sum(int(n) for n in socket.groups())
    return float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(total.group(1)), errors


def run_wrk(wrk: str, url: str, headers: dict[str, str], seconds: float, connections: int) -> str:
    argv = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    argv += ["--timeout", "10s"]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    result = subprocess.run([*argv, url], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


async def _python_load(
    url: str, headers: dict[str, str], seconds: float, connections: int
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                    ok = 200 <= response.status_code < 300
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return latencies, errors, time.perf_counter() - started


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def run_python(
    url: str, headers: dict[str, str], seconds: float, connections: int
) -> tuple[float, float, float, int, int]:
    latencies, errors, elapsed = asyncio.run(_python_load(url, headers, seconds, connections))
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"no request to {url} completed")
    p50, p99 = _percentile(latencies, 0.50), _percentile(latencies, 0.99)
    return len(latencies) / elapsed, p50, p99, len(latencies), errors


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Scenario:
    name: str
    url: str
    cookie: str
    pid: int

    def measure(self, args: argparse.Namespace, wrk: str | None) -> Result:
        headers = {"Cookie": f"orbiter_session={self.cookie}"}
        if args.warmup > 0:
            load(wrk, self.url, headers, args.warmup, args.connections)
        cpu_before = cpu_seconds(self.pid)
        rps, p50, p99, requests, errors = load(
            wrk, self.url, headers, args.duration, args.connections
        )
        cpu_ms = (cpu_seconds(self.pid) - cpu_before) * 1000 / max(1, requests)
        info(f"{self.name}: {rps:.0f} req/s, p50 {p50:.1f} ms, CPU {cpu_ms:.2f} ms/request")
        return Result(self.name, rps, p50, p99, requests, errors, cpu_ms)


def load(
    wrk: str | None, url: str, headers: dict[str, str], seconds: float, connections: int
) -> tuple[float, float, float, int, int]:
    """(req/s, p50 ms, p99 ms, requests, errors) of `seconds` of load on `url`."""
    if wrk:
        return parse_wrk(run_wrk(wrk, url, headers, seconds, connections))
    return run_python(url, headers, seconds, connections)


def median_result(results: list[Result]) -> Result:
    def mid(values: list[float]) -> float:
        return float(statistics.median(values))

    return Result(
        results[0].name,
        mid([r.requests_per_second for r in results]),
        mid([r.p50_ms for r in results]),
        mid([r.p99_ms for r in results]),
        sum(r.requests for r in results),
        sum(r.errors for r in results),
        mid([r.cpu_ms for r in results]),
    )


def find_wrk() -> str | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        with contextlib.suppress(subprocess.CalledProcessError):
            services.apt_install("wrk")
        wrk = shutil.which("wrk")
    return wrk


# --------------------------------------------------------------------------------------------
# Report


def print_report(results: dict[str, Result], args: argparse.Namespace, tool: str) -> bool:
    print()
    print(
        f"load: {tool}, {args.connections} connections, {args.duration:g}s after a "
        f"{args.warmup:g}s warm-up, median of {args.rounds} interleaved rounds; one uvicorn "
        f"worker each; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'GET /api/v1/projects?limit=20':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>10} {'errors':>7}"
    )
    print(header)
    print("-" * len(header))
    for result in results.values():
        print(
            f"{result.name:<40} {result.requests_per_second:>8.0f} {result.p50_ms:>8.1f} "
            f"{result.p99_ms:>8.1f} {result.cpu_ms:>10.2f} {result.errors:>7}"
        )
    ours, theirs = results["orbiter"], results["reference"]
    first, far = results["many_first"], results["many_far"]
    checks = [
        (
            "Orbiter / reference req/s",
            ours.requests_per_second / theirs.requests_per_second,
            ">=",
            TARGET_RATIO,
        ),
        (
            f"page {FAR_PAGE} / page 1 cost at {MANY_PROJECTS + 1} rows",
            first.requests_per_second / far.requests_per_second,
            "<=",
            TARGET_FAR_PAGE,
        ),
        (
            f"page 1 cost, {MANY_PROJECTS + 1} rows / {PROJECTS + 1} rows",
            ours.requests_per_second / first.requests_per_second,
            "<=",
            TARGET_MANY_ROWS,
        ),
    ]
    print()
    passed = True
    for label, value, op, target in checks:
        ok = value >= target if op == ">=" else value <= target
        passed &= ok
        print(f"{label:<45} {value:6.2f} (target {op} {target}) {'PASS' if ok else 'MISSED'}")
    errors = sum(result.errors for result in results.values())
    if errors:
        print(f"FAILED: {errors} non-2xx responses or socket errors")
    if tool != "wrk":
        print("note: the Python load generator shares the CPUs and tops out early; install wrk")
    return passed and not errors


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up load")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument(
        "--python-load", action="store_true", help="use the httpx load generator even with wrk"
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.connections < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--duration > 0, --connections >= 1, --warmup >= 0, --rounds >= 1")
    return args


def raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_servers_on_signals() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so the ExitStack stops the servers it started."""
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    signal.signal(signal.SIGHUP, raise_keyboard_interrupt)


def set_up(stack: contextlib.ExitStack) -> list[tuple[str, Scenario]]:
    env = orbiter_env(stack)
    workdir = services.make_temp_dir(stack, "orbiter-bench-")
    orbiter_url, orbiter_pid = serve_orbiter(stack, env, workdir=workdir)
    reference_url, reference_pid = start_reference(stack, env, workdir)
    few, _ = user_with_projects(orbiter_url, "few@example.com", PROJECTS)
    many, many_id = user_with_projects(orbiter_url, "many@example.com", 0)
    asyncio.run(insert_projects(env["ORBITER_DATABASE_URL"], many_id, MANY_PROJECTS))
    info(f"users with {PROJECTS + 1} and {MANY_PROJECTS + 1} projects ready")
    check_same_json(orbiter_url, reference_url, few)
    far = far_page_cursor(orbiter_url, many, FAR_PAGE)
    page = f"/api/v1/projects?limit={PAGE}"
    return [
        (
            "orbiter",
            Scenario(f"Orbiter, {PROJECTS + 1} rows", orbiter_url + page, few, orbiter_pid),
        ),
        (
            "reference",
            Scenario(f"reference, {PROJECTS + 1} rows", reference_url + page, few, reference_pid),
        ),
        (
            "many_first",
            Scenario(
                f"Orbiter, {MANY_PROJECTS + 1} rows, page 1", orbiter_url + page, many, orbiter_pid
            ),
        ),
        (
            "many_far",
            Scenario(
                f"Orbiter, {MANY_PROJECTS + 1} rows, page {FAR_PAGE}",
                f"{orbiter_url}{page}&cursor={far}",
                many,
                orbiter_pid,
            ),
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_servers_on_signals()
    wrk = None if args.python_load else find_wrk()
    tool = "wrk" if wrk else "python httpx"
    try:
        with contextlib.ExitStack() as stack:
            scenarios = set_up(stack)
            rounds: dict[str, list[Result]] = {key: [] for key, _ in scenarios}
            for number in range(1, args.rounds + 1):
                info(f"round {number} of {args.rounds} ({tool})")
                for key, scenario in scenarios:
                    rounds[key].append(scenario.measure(args, wrk))
            info("stopping servers")
    except services.MissingDependency as exc:
        print(f"[bench] {exc}", file=sys.stderr)
        return 2
    except services.SetupError as exc:
        print(f"[bench] could not start or check: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    results = {key: median_result(values) for key, values in rounds.items()}
    return 0 if print_report(results, args, tool) else 1


if __name__ == "__main__":
    sys.exit(main())
