"""The README works as written: its quick start runs against a live server, and every file
or folder it names exists in a clone."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from fastapi import FastAPI

from tests.live import ROOT, live_orbiter

README = ROOT / "README.md"
QUICK_START = re.compile(r"```sh\n# quick start\n(.*?)```", re.S)
# Backticked names that look like repository paths: a known top-level folder, or a file name
# with an extension we keep in the repository.
REPO_PATH = re.compile(
    r"`((?:src|tests|scripts|bench|migrations|\.ci)/[\w./-]*"
    r"|[\w./-]+\.(?:py|md|toml|ini|yml|yaml|example|txt|html)"
    r"|Makefile|Dockerfile)`"
)


def test_the_quick_start_runs_as_written(app: FastAPI, tmp_path: Path) -> None:
    found = QUICK_START.search(README.read_text())
    assert found, "README has no ```sh block starting with '# quick start'"
    with live_orbiter(tmp_path) as server:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", found.group(1)],
            cwd=tmp_path,
            env=os.environ | {"BASE": server.base_url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, (done.stdout, done.stderr, server.output())
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "register: 201"
    projects = json.loads(lines[-1])
    assert [project["name"] for project in projects["data"]] == ["Personal"]


def test_every_path_the_readme_names_exists() -> None:
    named = {match.group(1) for match in REPO_PATH.finditer(README.read_text())}
    assert "scripts/run_tests.py" in named  # the pattern does find paths
    missing = [
        path
        for path in sorted(named)
        if not (ROOT / path).exists() and not (ROOT / "src" / "orbiter" / path).exists()
    ]
    assert missing == []
