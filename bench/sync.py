#!/usr/bin/env python3
"""How long does `sync/prepare` take on 50,000-file manifests with 1,000 changes on each side?

    python bench/sync.py [--rounds 3]

Builds a base tree of 50,000 text files (150 distinct contents, so a few blobs cover them),
main with 1,000 paths edited (a line added at the top) and the workspace with 1,000 edited (a
line added at the bottom), 100 of them the same paths as main's, which merge3 merges cleanly.
Serves Orbiter (`orbiter serve`, one worker, embedded SQLite and local blobs), uploads the blobs
and manifests, snapshots the base in the main workspace and forks a workspace from it. Then,
for each of `--rounds` rounds (medians reported), times `POST /workspaces/{id}/sync/prepare`
and, as the baseline on the same server and manifests, `GET /workspaces/{id}/drift/compare`.
Every prepare must find 1,000 + 1,000 - 100 plan entries, 100 merged and no decision; any error
response fails the run. Target: prepare under 1 s (median). Exit status 0 when met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from drift import digest, ok_json, timed  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    embedded_env,
    info,
    serve_orbiter,
    sign_in,
    stop_servers_on_signals,
)

TARGET_SECONDS = 1.0
POOL = 50
MERGED = 100


def content(i: int, side: str) -> bytes:
    text = f"line one\nline two {i % POOL}\nline three\n"
    if side == "main":
        text = "added in main\n" + text
    elif side == "laptop":
        text += "added in the laptop\n"
    return text.encode()


def side_of(i: int, side: str) -> str:
    """Which version path `i` holds on `side`: main edits 1,000 paths, the laptop 1,000 (100 of
    them main's too)."""
    step = max(1, FILES // 1000)
    if side == "main" and i % step == 0:
        return "main"
    edited_alone = i % step == step // 2 and i % (step * 10) != step // 2
    if side == "laptop" and (edited_alone or i % (step * 10) == 0):
        return "laptop"
    return "base"


FILES = 50_000


def manifest(side: str) -> bytes:
    entries = []
    for i in range(FILES):
        data = content(i, side_of(i, side))
        entries.append(
            {
                "path": f"src/pkg{i // 200:03}/mod{i:06}.py",
                "hash": digest(data),
                "size": len(data),
                "mode": 0o644,
            }
        )
    return json.dumps({"version": 1, "files": entries}, separators=(",", ":")).encode()


def put_manifest(api: httpx.Client, raw: bytes) -> str:
    hash_ = digest(raw)
    headers = {"Content-Type": "application/json"}
    ok_json(api.put(f"/api/v1/blobs/manifests/{hash_}", content=raw, headers=headers))
    return hash_


def set_up(api: httpx.Client) -> tuple[str, str]:
    """(laptop workspace id, main workspace id)."""
    for i in range(POOL):
        for side in ("base", "main", "laptop"):
            data = content(i, side)
            ok_json(api.put(f"/api/v1/blobs/upload/{digest(data)}", content=data))
    base, main_raw, laptop = (put_manifest(api, manifest(s)) for s in ("base", "main", "laptop"))
    project = ok_json(api.post("/api/v1/projects", json={"name": "sync"}))["id"]
    main = ok_json(api.post(f"/api/v1/projects/{project}/workspaces", json={"name": "main"}))
    snapshot = ok_json(
        api.post(
            f"/api/v1/projects/{project}/snapshots",
            json={"manifest_hash": base, "workspace_id": main["id"]},
        )
    )["snapshot"]
    other = ok_json(
        api.post(
            f"/api/v1/projects/{project}/workspaces",
            json={"name": "laptop", "base_snapshot_id": snapshot["id"]},
        )
    )
    for workspace, hash_ in ((main["id"], main_raw), (other["id"], laptop)):
        ok_json(
            api.post(
                f"/api/v1/workspaces/{workspace}/current-manifest", json={"manifest_hash": hash_}
            )
        )
    return other["id"], main["id"]


def check(preview: dict[str, Any]) -> None:
    actions = [a["action"] for a in preview["auto_actions"]]
    if preview["decisions_needed"] or actions.count("merged") != MERGED or len(actions) != 1900:
        raise RuntimeError(f"unexpected preview: {preview['summary']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stop_servers_on_signals()
    rows: list[tuple[float, float]] = []
    try:
        with contextlib.ExitStack() as stack:
            env = embedded_env(stack, "orbiter-bench-sync-")
            base_url, _ = serve_orbiter(stack, env, workdir=Path(env["ORBITER_DATA_DIR"]))
            with httpx.Client(base_url=base_url, timeout=120) as http:
                csrf = sign_in(http, "sync@example.com")
                key = ok_json(http.post("/api/v1/api-keys", json={"name": "b"}, headers=csrf))[
                    "key"
                ]
            with httpx.Client(base_url=base_url, timeout=120, headers={"X-API-Key": key}) as api:
                laptop, main_id = set_up(api)
                prepare_url = f"/api/v1/workspaces/{laptop}/sync/prepare"
                compare_url = f"/api/v1/workspaces/{laptop}/drift/compare"
                params = {"source_workspace_id": main_id}
                previews: list[dict[str, Any]] = []
                for number in range(1, args.rounds + 1):
                    prepare = timed(lambda: previews.append(ok_json(api.post(prepare_url))))
                    check(previews[-1]["preview"])
                    compare = timed(lambda: ok_json(api.get(compare_url, params=params)))
                    info(f"round {number}: prepare {prepare:.3f} s, drift compare {compare:.3f} s")
                    rows.append((prepare, compare))
    except (RuntimeError, httpx.HTTPError, services.SetupError) as exc:
        print(f"[bench] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    prepare, compare = (statistics.median(column) for column in zip(*rows, strict=True))
    print()
    print(f"sync/prepare, {FILES} files, 1,000 changes on each side, median of {args.rounds}:")
    print(f"  sync/prepare                         {prepare * 1000:8.0f} ms")
    print(f"  baseline: drift/compare, same trees  {compare * 1000:8.0f} ms")
    ok = prepare < TARGET_SECONDS
    print(f"target: prepare under {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
