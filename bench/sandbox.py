#!/usr/bin/env python3
"""Sandbox start with a `print` round trip, and a `/terminal` round trip, through the API.

    python bench/sandbox.py [--requests 40] [--rounds 3]

Serves Orbiter (`orbiter serve`, one worker, embedded SQLite, rate limits off) on loopback
with its sandboxes in a fresh directory, signs a user in, then measures:

* start: `POST /api/v1/sandbox` with a `code-interpreter-v1` fragment `print(1)` (a new
  bubblewrap sandbox, the cell run, its row written), each sandbox deleted after;
* terminal: `POST /api/v1/terminal` `echo hi` in one sandbox.

The baseline, measured in the same run, is the same Python started directly on the host
without a sandbox (`python3 -c 'print(1)'`), so the ratio is what isolation and the API add.
Each round interleaves the three request by request (a start, a terminal command, a direct
start); reported: the median of the rounds' medians, and the p99 of all. Targets: start under
150 ms and terminal under 50 ms at the median. Any error response fails the run. Exit status 0
when the targets are met, 1 otherwise, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]
from http_overhead import (  # type: ignore[import-not-found]
    embedded_env,
    info,
    serve_orbiter,
    sign_in,
    stop_servers_on_signals,
)

TARGET_START_MS = 150.0
TARGET_TERMINAL_MS = 50.0
PYTHON = "/usr/bin/python3"
FRAGMENT = {"template": "code-interpreter-v1", "code": "print(1)"}


def timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_once(http: httpx.Client) -> float:
    started = time.perf_counter()
    response = http.post("/api/v1/sandbox", json={"fragment": FRAGMENT})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    assert response.json()["stdout"] == "1\n", response.text
    http.delete(f"/api/v1/sandbox/{response.json()['sbxId']}").raise_for_status()
    return elapsed


def terminal_once(http: httpx.Client, sbx_id: str) -> float:
    started = time.perf_counter()
    response = http.post("/api/v1/terminal", json={"command": "echo hi", "sbxId": sbx_id})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    assert response.json()["stdout"] == "hi\n", response.text
    return elapsed


def direct_once(python: str) -> float:
    started = time.perf_counter()
    subprocess.run([python, "-c", "print(1)"], check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


@dataclass
class Samples:
    rounds: list[list[float]] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(statistics.median(one) for one in self.rounds)

    @property
    def p99(self) -> float:
        return percentile([value for one in self.rounds for value in one], 0.99)


def report(name: str, samples: Samples, baseline: float, target: float) -> bool:
    met = samples.p50 < target
    print(
        f"{name:<9} p50 {samples.p50:7.1f} ms  p99 {samples.p99:7.1f} ms  "
        f"x{samples.p50 / baseline:5.1f} of a bare python start  "
        f"target p50 < {target:.0f} ms: {'met' if met else 'MISSED'}"
    )
    return met


def measure(http: httpx.Client, requests: int, rounds: int) -> tuple[Samples, Samples, Samples]:
    """Rounds of start, terminal and direct start, interleaved request by request."""
    starts, terminals, direct = Samples(), Samples(), Samples()
    start_once(http)  # the first start probes bubblewrap: not counted
    sbx = http.post("/api/v1/sandbox", json={"fragment": FRAGMENT})
    sbx.raise_for_status()
    sbx_id = sbx.json()["sbxId"]
    for _ in range(rounds):
        for samples in (starts, terminals, direct):
            samples.rounds.append([])
        for _ in range(requests):
            starts.rounds[-1].append(start_once(http))
            terminals.rounds[-1].append(terminal_once(http, sbx_id))
            direct.rounds[-1].append(direct_once(PYTHON))
    http.delete(f"/api/v1/sandbox/{sbx_id}").raise_for_status()
    return starts, terminals, direct


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    stop_servers_on_signals()
    try:
        with contextlib.ExitStack() as stack:
            workdir = services.make_temp_dir(stack, "orbiter-bench-sandbox-")
            sandboxes = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            sandboxes.chmod(0o711)  # reachable by the sandbox's user when serving as root
            env = embedded_env(
                stack,
                "orbiter-bench-sandbox-data-",
                ORBITER_SANDBOX_DIR=str(sandboxes),
                ORBITER_SANDBOX_MAX_PER_USER="1000",
            )
            base_url, _ = serve_orbiter(stack, env, workdir=workdir)
            info(f"serving {base_url}")
            with httpx.Client(base_url=base_url, timeout=60) as http:
                http.headers.update(sign_in(http, "bench@example.com"))
                starts, terminals, direct = measure(http, args.requests, args.rounds)
    except KeyboardInterrupt:
        return 130
    except (httpx.HTTPError, AssertionError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"baseline: {PYTHON} -c 'print(1)' on the host, p50 {direct.p50:.1f} ms")
    ok = report("start", starts, direct.p50, TARGET_START_MS)
    ok = report("terminal", terminals, direct.p50, TARGET_TERMINAL_MS) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
