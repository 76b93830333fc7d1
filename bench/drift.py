#!/usr/bin/env python3
"""How long does a drift compare of two 50,000-file manifests take?

    python bench/drift.py [--files 50000] [--runs 7]

Builds two manifests of `--files` entries that share most paths (5% changed on each side, 1%
only on each side, a few large files), serialised the way a CLI uploads them. Measures, best
and median of `--runs`:

* parse: `parse_manifest` of one manifest's bytes (what a cold compare pays twice; the
  in-process manifest cache removes it for repeated compares),
* compare: `compare_manifests` + `report_details` (the pure drift computation: categories,
  overlap ratio, risk, counts by extension, large files, the stored JSON),
* cold: parse both + compare, what a compare costs when neither manifest is cached,
* baseline: building the two path→entry dicts only, the least any compare must do; the
  compare is printed as a ratio of it.

Exit status: 0 when the compare (median) is under 1 s (the target), 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from orbiter.blobs.manifest import Manifest, parse_manifest
from orbiter.workspaces.drift import compare_manifests, report_details

TARGET_SECONDS = 1.0
EXTENSIONS = (".py", ".ts", ".md", ".json", ".css", ".go", "")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


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
        entries.append({"path": path, "hash": digest(content), "size": size, "mode": 0o644})
    entries.sort(key=lambda e: str(e["path"]))
    return json.dumps({"version": 1, "files": entries}, separators=(",", ":")).encode()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    workspace_raw = manifest_bytes(args.files, "workspace")
    source_raw = manifest_bytes(args.files, "main")
    workspace: Manifest = parse_manifest(workspace_raw)
    source: Manifest = parse_manifest(source_raw)
    comparison = compare_manifests(workspace, source)
    details = report_details(comparison)
    print(
        f"[bench] {args.files} files per side ({len(workspace_raw) / 1e6:.1f} MB of JSON each): "
        f"counts {details['counts']}, risk {details['risk_level']}, "
        f"overlap {details['overlap_ratio']:.3f}, large files {len(comparison.large_files)}"
    )

    def baseline() -> None:
        {e.path: e for e in workspace.files}
        {e.path: e for e in source.files}

    def compare() -> None:
        report_details(compare_manifests(workspace, source))

    def cold() -> None:
        report_details(compare_manifests(parse_manifest(workspace_raw), parse_manifest(source_raw)))

    results = {
        "baseline (dicts)": timed(baseline, args.runs),
        "parse one": timed(lambda: parse_manifest(workspace_raw), args.runs),
        "compare": timed(compare, args.runs),
        "cold (2 parses + compare)": timed(cold, max(3, args.runs // 2)),
    }
    for name, (best, median) in results.items():
        print(f"[bench] {name:<28} best {best * 1000:8.1f} ms   median {median * 1000:8.1f} ms")
    compare_median = results["compare"][1]
    ratio = compare_median / results["baseline (dicts)"][1]
    print(f"[bench] compare / baseline: {ratio:.1f}x")
    verdict = "meets" if compare_median < TARGET_SECONDS else "MISSES"
    print(f"[bench] drift compare {compare_median * 1000:.0f} ms {verdict} the target of < 1 s")
    return 0 if compare_median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
