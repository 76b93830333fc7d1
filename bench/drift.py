#!/usr/bin/env python3
"""How long does a drift compare of two 50,000-file workspaces take, over HTTP and in memory?

    python bench/drift.py [--files 50000] [--warm 5] [--rounds 3]

Builds two manifests of `--files` entries that share most paths (5% changed on each side, 1%
only on each side, a few large files), serialised the way a CLI uploads them. Serves Orbiter
(`orbiter serve`, one worker, embedded SQLite and local blobs, rate limits off), uploads both
manifests through the API and makes them the current manifests of a project's main workspace
and a second one. Then, for each of `--rounds` rounds (median of the rounds is reported):

* cold: Orbiter is restarted, so its parsed-manifest cache is empty, and the first
  `GET /workspaces/{id}/drift/compare` is timed (reads and parses both manifests, compares,
  stores the report);
* warm: `--warm` more compares on that server (manifests cached), median;
* in memory: `compare_manifests` + `report_details` on the parsed manifests, median of
  `--warm`: the pure computation, with no HTTP, database or parsing.

The compare must find the same counts over HTTP as in memory; any error response fails the
run. Target: the cold and the warm HTTP compare under 1 s (median). Exit status 0 when met.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "src"))
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    embedded_env,
    info,
    serve_orbiter,
    sign_in,
    stop_servers_on_signals,
)

from orbiter.blobs.manifest import parse_manifest  # noqa: E402
from orbiter.workspaces.drift import compare_manifests, report_details  # noqa: E402

TARGET_SECONDS = 1.0
EXTENSIONS = (".py", ".ts", ".md", ".json", ".css", ".go", "")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_bytes(files: int, side: str) -> bytes:
    entries = []
    for i in range(files):
        path = f"src/pkg{i // 200:03}/mod{i:06}{EXTENSIONS[i % len(EXTENSIONS)]}"
        if i % 100 == 0:  # 1% only on this side
            path = f"{side}/only{i:06}.py"
        content = f"file {i}"
        if i % 20 == 0:  # 5% changed on this side
            content += f" edited in {side}"
        size = 300_000 if i % 5000 == 20 else 1000 + i % 5000
        entries.append(
            {"path": path, "hash": digest(content.encode()), "size": size, "mode": 0o644}
        )
    entries.sort(key=lambda e: str(e["path"]))
    return json.dumps({"version": 1, "files": entries}, separators=(",", ":")).encode()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def ok_json(response: httpx.Response) -> Any:
    if not 200 <= response.status_code < 300:
        raise RuntimeError(
            f"{response.request.url} answered {response.status_code}: {response.text[:300]}"
        )
    return response.json()


def set_up_workspaces(base_url: str, main_raw: bytes, other_raw: bytes) -> tuple[str, str, str]:
    """(API key, main workspace id, other workspace id), each with its current manifest."""
    with httpx.Client(base_url=base_url, timeout=120) as http:
        csrf = sign_in(http, "drift@example.com")
        key = ok_json(http.post("/api/v1/api-keys", json={"name": "bench"}, headers=csrf))["key"]
    with httpx.Client(base_url=base_url, timeout=120, headers={"X-API-Key": key}) as api:
        project = ok_json(api.post("/api/v1/projects", json={"name": "drift"}))["id"]
        ids = []
        for name, raw in (("main", main_raw), ("laptop", other_raw)):
            workspace = ok_json(
                api.post(f"/api/v1/projects/{project}/workspaces", json={"name": name})
            )
            manifest = digest(raw)
            ok_json(
                api.put(
                    f"/api/v1/blobs/manifests/{manifest}",
                    content=raw,
                    headers={"Content-Type": "application/json"},
                )
            )
            ok_json(
                api.post(
                    f"/api/v1/workspaces/{workspace['id']}/current-manifest",
                    json={"manifest_hash": manifest},
                )
            )
            ids.append(workspace["id"])
    return key, ids[0], ids[1]


def http_compare(base_url: str, key: str, workspace: str, source: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=120, headers={"X-API-Key": key}) as api:
        response = api.get(
            f"/api/v1/workspaces/{workspace}/drift/compare",
            params={"source_workspace_id": source, "include_dirty": "true"},
        )
        body: dict[str, Any] = ok_json(response)
        return body


def run_round(
    env: dict[str, str], workdir: Path, ids: tuple[str, str, str], warm: int, expected: object
) -> tuple[float, float]:
    """A fresh server: (cold compare seconds, median warm compare seconds)."""
    key, main, other = ids
    with contextlib.ExitStack() as server:
        base_url, _ = serve_orbiter(server, env, workdir=workdir)
        results: list[dict[str, Any]] = []
        cold = timed(lambda: results.append(http_compare(base_url, key, other, main)))
        warm_times = [
            timed(lambda: results.append(http_compare(base_url, key, other, main)))
            for _ in range(warm)
        ]
    for result in results:
        if result["drift"]["counts"] != expected:
            raise RuntimeError(f"HTTP counts {result['drift']['counts']} != {expected}")
    return cold, statistics.median(warm_times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--warm", type=int, default=5, help="warm compares per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stop_servers_on_signals()

    main_raw, other_raw = manifest_bytes(args.files, "main"), manifest_bytes(args.files, "laptop")
    main_manifest, other_manifest = parse_manifest(main_raw), parse_manifest(other_raw)
    details = report_details(compare_manifests(other_manifest, main_manifest))
    info(
        f"{args.files} files per side ({len(main_raw) / 1e6:.1f} MB of JSON each): "
        f"counts {details['counts']}, risk {details['risk_level']}"
    )
    rows: list[tuple[float, float, float]] = []
    try:
        with contextlib.ExitStack() as stack:
            env = embedded_env(stack, "orbiter-bench-drift-")
            workdir = Path(env["ORBITER_DATA_DIR"])
            with contextlib.ExitStack() as server:
                base_url, _ = serve_orbiter(server, env, workdir=workdir)
                ids = set_up_workspaces(base_url, main_raw, other_raw)
            for number in range(1, args.rounds + 1):
                cold, warm = run_round(env, workdir, ids, args.warm, details["counts"])
                memory = statistics.median(
                    timed(lambda: report_details(compare_manifests(other_manifest, main_manifest)))
                    for _ in range(args.warm)
                )
                info(
                    f"round {number}: cold {cold:.3f} s, warm {warm:.3f} s, in memory {memory:.3f} s"
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
    print(f"drift compare of two {args.files}-file workspaces, median of {args.rounds} rounds:")
    print(f"  HTTP, cold (fresh server, manifests parsed) {cold * 1000:8.0f} ms")
    print(f"  HTTP, warm (manifests cached)               {warm * 1000:8.0f} ms")
    print(f"  in memory (compare + report only)           {memory * 1000:8.0f} ms")
    ok = cold < TARGET_SECONDS and warm < TARGET_SECONDS
    print(f"target: HTTP compares under {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
