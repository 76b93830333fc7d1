#!/usr/bin/env python3
"""How long does a signal window query on a 100 MB VCD take, over HTTP and in process?

    python bench/waveforms.py [--mb 100] [--queries 15] [--rounds 3]

Writes a VCD of `--mb` megabytes (a clock and 63 32-bit buses, 1 ns timescale, every bus
changing every few steps), serves Orbiter (`orbiter serve`, one worker, embedded SQLite and
local blobs, rate limits off, the free plan's upload limit raised to fit) and uploads it
through `POST /api/v1/waveforms` (timed: receive, parse, store). Then, for each of `--rounds`
rounds (the median of the rounds is reported):

* cold: Orbiter is restarted, so it has no parsed copy, and the first
  `GET /waveforms/{id}/signals/top.bus8?from=&to=&max_points=1000` is timed (the stored file
  copied out of the blob store and parsed, the signal loaded, the window cut);
* warm: `--queries` more queries of windows at different places (each 1% of the file's time
  range), median;
* in process: the same windows cut by `orbiter.waveforms.parse.window` on a parsed copy in
  this process, median: wellen and the down-sampling alone, with no HTTP or database.

Every HTTP answer must equal the in-process one (change count and the changes); any error
response fails the run. Target: the warm HTTP query under 200 ms (median). Exit status 0
when met, 1 when missed or a check failed, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from drift import ok_json  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    embedded_env,
    info,
    serve_orbiter,
    sign_in,
    stop_servers_on_signals,
)

from orbiter.waveforms import parse  # noqa: E402

TARGET_MS = 200.0
SIGNALS = 64
SIGNAL = "top.bus8"
MAX_POINTS = 1000


def write_vcd(path: Path, target_bytes: int) -> None:
    """A clock toggling every 5 ns and buses taking pseudo-random values, `target_bytes` long."""
    ids = [chr(33 + i // 90) + chr(33 + i % 90) for i in range(SIGNALS)]
    with path.open("w") as out:
        out.write("$timescale 1ns $end\n$scope module top $end\n")
        out.write(f"$var wire 1 {ids[0]} clk $end\n")
        for i, ident in enumerate(ids[1:], 1):
            out.write(f"$var wire 32 {ident} bus{i} [31:0] $end\n")
        out.write("$upscope $end\n$enddefinitions $end\n")
        time_, written = 0, 0
        while written < target_bytes:
            lines = [f"#{time_}\n1{ids[0]}\n"]
            for i in range(1, SIGNALS, 7):
                k = 1 + (i + time_ // 5) % (SIGNALS - 1)
                lines.append(f"b{(time_ * 2654435761 + i) & 0xFFFFFFFF:b} {ids[k]}\n")
            lines.append(f"#{time_ + 5}\n0{ids[0]}\n")
            chunk = "".join(lines)
            out.write(chunk)
            written += len(chunk)
            time_ += 10


def windows(start: int, end: int, count: int) -> list[tuple[int, int]]:
    width = max(1, (end - start) // 100)
    step = max(1, (end - start - width) // max(1, count))
    return [(start + i * step, start + i * step + width) for i in range(count)]


def query(http: httpx.Client, waveform_id: str, window: tuple[int, int]) -> tuple[float, Any]:
    params = {"from": window[0], "to": window[1], "max_points": MAX_POINTS}
    started = time.perf_counter()
    body = ok_json(http.get(f"/api/v1/waveforms/{waveform_id}/signals/{SIGNAL}", params=params))
    return time.perf_counter() - started, body


def in_process(variable: Any, window: tuple[int, int]) -> tuple[float, parse.Window]:
    started = time.perf_counter()
    cut = parse.window(variable, start=window[0], end=window[1], max_points=MAX_POINTS)
    return time.perf_counter() - started, cut


def check(body: Any, expected: parse.Window) -> None:
    got = [(c["time"], c["value"]) for c in body["changes"]]
    want = [(c.time, c.value) for c in expected.changes]
    if body["change_count"] != expected.change_count or got != want:
        raise RuntimeError(f"HTTP and in-process windows differ at from={expected.start}")


def run_round(
    env: dict[str, str], workdir: Path, key: str, meta: Any, variable: Any, queries: int
) -> tuple[float, float, float]:
    spans = windows(meta["start_time"], meta["end_time"], queries + 1)
    with contextlib.ExitStack() as server:
        base_url, _ = serve_orbiter(server, env, workdir=workdir)
        with httpx.Client(base_url=base_url, timeout=300, headers={"X-API-Key": key}) as http:
            cold, body = query(http, meta["id"], spans[0])
            check(body, in_process(variable, spans[0])[1])
            warm: list[float] = []
            memory: list[float] = []
            for span in spans[1:]:
                seconds, body = query(http, meta["id"], span)
                spent, expected = in_process(variable, span)
                check(body, expected)
                warm.append(seconds)
                memory.append(spent)
    return cold, statistics.median(warm), statistics.median(memory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--queries", type=int, default=15, help="warm queries per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stop_servers_on_signals()
    rows: list[tuple[float, float, float]] = []
    try:
        with contextlib.ExitStack() as stack:
            limit = str(args.mb * 2 * 1024**2)
            env = embedded_env(
                stack, "orbiter-bench-waveforms-", ORBITER_WAVEFORM_MAX_BYTES_FREE=limit
            )
            workdir = Path(env["ORBITER_DATA_DIR"])
            vcd = workdir / "big.vcd"
            write_vcd(vcd, args.mb * 1_000_000)
            variable = parse.find_signal(parse.open_waveform(vcd), SIGNAL)
            with contextlib.ExitStack() as server:
                base_url, _ = serve_orbiter(server, env, workdir=workdir)
                with httpx.Client(base_url=base_url, timeout=600) as http:
                    headers = sign_in(http, "waveforms@example.com")
                    made = http.post("/api/v1/api-keys", json={"name": "bench"}, headers=headers)
                    key = ok_json(made)["key"]  # sessions do not outlive an embedded server
                    started = time.perf_counter()
                    with vcd.open("rb") as file:
                        meta = ok_json(
                            http.post(
                                "/api/v1/waveforms",
                                files={"file": ("big.vcd", file)},
                                headers={"X-API-Key": key},
                            )
                        )
                    uploaded = time.perf_counter() - started
            info(
                f"{vcd.stat().st_size / 1e6:.0f} MB VCD, {meta['signal_count']} signals, "
                f"{meta['end_time']} ns: uploaded and parsed in {uploaded:.1f} s"
            )
            for number in range(1, args.rounds + 1):
                cold, warm, memory = run_round(env, workdir, key, meta, variable, args.queries)
                info(
                    f"round {number}: cold {cold * 1000:.0f} ms, warm {warm * 1000:.1f} ms, "
                    f"in process {memory * 1000:.1f} ms"
                )
                rows.append((cold, warm, memory))
    except (RuntimeError, httpx.HTTPError, services.SetupError) as exc:
        print(f"[bench] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    cold, warm, memory = (statistics.median(column) for column in zip(*rows, strict=True))
    print()
    print(
        f"window query ({MAX_POINTS} points) on a {args.mb} MB VCD, median of {args.rounds} rounds:"
    )
    print(f"  HTTP, cold (fresh server: file copied and parsed) {cold * 1000:8.0f} ms")
    print(f"  HTTP, warm (parsed file kept)                     {warm * 1000:8.1f} ms")
    print(f"  in process (wellen + down-sampling only)          {memory * 1000:8.1f} ms")
    ok = warm * 1000 < TARGET_MS
    print(f"target: the warm HTTP query under {TARGET_MS:.0f} ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
