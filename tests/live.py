"""`orbiter serve` as a real process on a free loopback port, with its output in a file."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
ORBITER = Path(sys.executable).parent / "orbiter"
STARTUP_TIMEOUT = 180.0  # generous: the suite runs in shards side by side on few cores


@dataclass
class LiveServer:
    base_url: str
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def live_orbiter(tmp_path: Path, **env: str) -> Iterator[LiveServer]:
    """Serve with this run's ORBITER_* environment plus `env`; stopped (SIGTERM) afterwards.

    On the embedded backend the server gets a migrated SQLite database of its own: this test
    process's app runs its background jobs on the run's database, and while a synchronous test
    blocks the event loop, a job caught inside a write transaction would hold SQLite's write
    lock against the server for as long as the test lasts.
    """
    port = free_port()
    log_path = tmp_path / "orbiter-serve.log"
    argv = [str(ORBITER), "serve", "--host", "127.0.0.1", "--port", str(port)]
    environment = os.environ | env
    if not environment.get("ORBITER_DATABASE_URL", "").startswith("postgresql"):
        environment["ORBITER_DATA_DIR"] = str(tmp_path / "live-data")
        subprocess.run(
            [str(ORBITER), "migrate"],
            cwd=ROOT,
            env=environment,
            check=True,
            timeout=300,
            capture_output=True,
        )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    server = LiveServer(f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_until_serving(process, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(process: subprocess.Popen[bytes], server: LiveServer) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"orbiter serve exited early:\n{server.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"orbiter serve did not become healthy:\n{server.output()}")
