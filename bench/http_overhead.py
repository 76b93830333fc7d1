#!/usr/bin/env python3
"""How much does Orbiter's stack cost per request, next to a bare FastAPI app?

    python bench/http_overhead.py [--duration 10] [--connections 32] [--warmup 3]

Starts a throwaway PostgreSQL and Redis on loopback (the helpers of scripts/run_tests.py),
migrates, and serves Orbiter (`orbiter serve`, one worker, rate limits off, log level WARNING)
next to bench/hello_app.py (uvicorn, one worker, the same server options). Signs a user in,
creates 30 projects, then puts the same load on `GET /api/v1/projects?limit=20` (session
cookie) and on the bare `GET /hello`: wrk when it is installed, else an asyncio httpx load
generator. Prints req/s, p50 and p99 for both and the ratio Orbiter/bare (target >= 0.5).
Every process it starts is stopped again, also on Ctrl-C or failure.

Exit status: 0 when the ratio meets the target, 1 when it does not or setup failed, 2 when a
server binary is missing, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402  (not a package)

VENV_BIN = Path(sys.executable).parent
PROJECTS = 30
PASSWORD = "correct horse battery staple"
TARGET_RATIO = 0.5
WORKERS = 1


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
    env: dict[str, str] = services.base_env() | {
        "ORBITER_ENVIRONMENT": "development",
        "ORBITER_DATA_DIR": str(services.make_temp_dir(stack, "orbiter-bench-data-")),
        "ORBITER_DATABASE_URL": database_url,
        "ORBITER_REDIS_URL": redis_url,
        "ORBITER_BLOB_STORE": "local",
        "ORBITER_RATE_LIMITS_ENABLED": "false",
        "ORBITER_LOG_LEVEL": "WARNING",
    }
    return env


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


def start_hello(stack: contextlib.ExitStack, port: int) -> str:
    """bench/hello_app.py under uvicorn with the options `orbiter serve` uses."""
    workdir = services.make_temp_dir(stack, "orbiter-bench-hello-")
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "hello_app:app",
        "--app-dir",
        str(Path(__file__).parent),
    ]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS)]
    argv += ["--no-server-header", "--no-proxy-headers"]
    server = start_process(stack, "hello", argv, services.base_env(), workdir)
    base_url = f"http://127.0.0.1:{port}"
    services.wait_until(server, lambda: http_ok(f"{base_url}/hello"))
    return base_url


def sign_in_with_projects(base_url: str) -> str:
    """Register, log in, create the projects; returns the session cookie's value."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        email = "bench@example.com"
        body = {"email": email, "password": PASSWORD, "name": "Bench"}
        registered = http.post("/api/v1/auth/register", json=body)
        registered.raise_for_status()
        http.cookies.clear()
        login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        for number in range(1, PROJECTS + 1):
            project = {"name": f"bench project {number}", "description": "load test"}
            http.post("/api/v1/projects", json=project, headers=csrf).raise_for_status()
        cookie = http.cookies.get("orbiter_session")
        if not cookie:
            raise services.SetupError("login did not set the orbiter_session cookie")
        listed = http.get("/api/v1/projects", params={"limit": 20})
        listed.raise_for_status()
        if len(listed.json()["data"]) != 20:
            raise services.SetupError(f"unexpected project page: {listed.text[:300]}")
        return cookie


# --------------------------------------------------------------------------------------------
# Load generators


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not match:
        raise ValueError(f"cannot parse wrk duration {value!r}")
    return float(match.group(1)) * _UNIT_MS[match.group(2)]


def parse_wrk(name: str, output: str) -> Result:
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
    return Result(
        name, float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(total.group(1)), errors
    )


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
                    ok = response.status_code < 400
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
    name: str, url: str, headers: dict[str, str], seconds: float, connections: int
) -> Result:
    latencies, errors, elapsed = asyncio.run(_python_load(url, headers, seconds, connections))
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"no request to {url} completed")
    return Result(
        name,
        len(latencies) / elapsed,
        _percentile(latencies, 0.50),
        _percentile(latencies, 0.99),
        len(latencies),
        errors,
    )


def measure(
    name: str, url: str, headers: dict[str, str], args: argparse.Namespace, wrk: str | None
) -> Result:
    info(f"{name}: warm-up {args.warmup:g}s, then {args.duration:g}s")
    if wrk:
        if args.warmup > 0:
            run_wrk(wrk, url, headers, args.warmup, args.connections)
        return parse_wrk(name, run_wrk(wrk, url, headers, args.duration, args.connections))
    if args.warmup > 0:
        run_python(name, url, headers, args.warmup, args.connections)
    return run_python(name, url, headers, args.duration, args.connections)


# --------------------------------------------------------------------------------------------
# Report


def print_report(results: list[Result], args: argparse.Namespace, tool: str) -> bool:
    orbiter, bare = results
    ratio = orbiter.requests_per_second / bare.requests_per_second
    passed = ratio >= TARGET_RATIO
    print()
    print(
        f"load: {tool}, {args.connections} connections, {args.duration:g}s after a "
        f"{args.warmup:g}s warm-up; {WORKERS} uvicorn worker each; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'endpoint':<44} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'requests':>9} {'errors':>7}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        print(
            f"{result.name:<44} {result.requests_per_second:>10.1f} {result.p50_ms:>9.2f} "
            f"{result.p99_ms:>9.2f} {result.requests:>9} {result.errors:>7}"
        )
    print()
    verdict = "PASS" if passed else "BELOW TARGET"
    print(f"Orbiter/bare req/s: {ratio:.3f} (target >= {TARGET_RATIO}) {verdict}")
    if tool != "wrk":
        print("note: the Python load generator tops out long before a bare app does, so the")
        print("      ratio is flattered; install wrk for figures worth comparing")
    if any(result.errors for result in results):
        print("WARNING: some requests failed; the figures above include them")
    return passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up load")
    parser.add_argument(
        "--python-load", action="store_true", help="use the httpx load generator even with wrk"
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.connections < 1 or args.warmup < 0:
        parser.error("--duration must be > 0, --connections >= 1, --warmup >= 0")
    return args


def raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_servers_on_signals() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so the ExitStack stops the servers it started."""
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    signal.signal(signal.SIGHUP, raise_keyboard_interrupt)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_servers_on_signals()
    wrk = None if args.python_load else shutil.which("wrk")
    tool = "wrk" if wrk else "python httpx"
    try:
        with contextlib.ExitStack() as stack:
            env = orbiter_env(stack)
            orbiter_port, hello_port = services.free_ports(2)
            workdir = services.make_temp_dir(stack, "orbiter-bench-")
            orbiter_url, _ = serve_orbiter(
                stack, env, workdir=workdir, port=orbiter_port, workers=WORKERS
            )
            hello_url = start_hello(stack, hello_port)
            cookie = sign_in_with_projects(orbiter_url)
            info(f"signed in, {PROJECTS} projects created; load generator: {tool}")
            results = [
                measure(
                    "Orbiter GET /api/v1/projects?limit=20",
                    f"{orbiter_url}/api/v1/projects?limit=20",
                    {"Cookie": f"orbiter_session={cookie}"},
                    args,
                    wrk,
                ),
                measure("bare FastAPI GET /hello", f"{hello_url}/hello", {}, args, wrk),
            ]
            info("stopping servers")
    except services.MissingDependency as exc:
        print(f"[bench] {exc}", file=sys.stderr)
        return 2
    except services.SetupError as exc:
        print(f"[bench] could not start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    return 0 if print_report(results, args, tool) else 1


if __name__ == "__main__":
    sys.exit(main())
