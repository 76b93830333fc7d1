"""Property-based API test: schemathesis fuzzes the real server from its own OpenAPI schema.

The server runs as a subprocess (`orbiter serve`) on a free loopback port with the same
ORBITER_* environment as the rest of the suite (so this runs on both backends), rate limits
off. The test signs a user up over HTTP, creates an API key, and hands it to the schemathesis
CLI, which checks every operation for server errors, undeclared content types, responses that
do not match the declared schema, and declared-but-unenforced authentication.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm

from orbiter.core.settings import Settings
from tests.helpers import PASSWORD

VENV_BIN = Path(sys.executable).parent
SCHEMATHESIS = VENV_BIN / "schemathesis"

CHECKS = (
    "not_a_server_error",
    "content_type_conformance",
    "response_schema_conformance",
    "ignored_auth",
)
# Fixed seed and a bounded number of cases per operation: the same run every time, well
# under three minutes per backend. Raise MAX_EXAMPLES locally for a deeper search.
SEED = int(os.environ.get("ORBITER_SCHEMATHESIS_SEED", "20240611"))
MAX_EXAMPLES = int(os.environ.get("ORBITER_SCHEMATHESIS_MAX_EXAMPLES", "25"))
RUN_TIMEOUT = 600.0

# Nothing is excluded. The operations that could revoke this test's own credentials are safe
# to fuzz: `POST /auth/logout` answers 400 for API keys (they are revoked only by id), and
# `DELETE /api-keys/{key_id}` / `DELETE /auth/sessions/{session_id}` receive generated ids.
# In case a stateful sequence still revokes the key, the test checks afterwards that the key
# it handed to schemathesis is still valid, so a run that lost its credentials half-way (and
# then saw nothing but 401s) cannot pass unnoticed.
EXCLUDE_ARGS: tuple[str, ...] = ()


ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0
ACCESS_LINE = re.compile(r"INFO: +[\d.]+:\d+ - ")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OrbiterServer:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 200) -> str:
        """The end of the server log without uvicorn's access lines (tracebacks stay)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        kept = [line for line in text.splitlines() if not ACCESS_LINE.match(line)]
        return "\n".join(kept[-lines:])

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running():
                pytest.fail(f"orbiter serve exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        pytest.fail(f"orbiter serve not healthy after {STARTUP_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.running():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()


class _JwksHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "public, max-age=3600")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def google_jwks_url() -> Iterator[str]:
    """A loopback stand-in for Google's key set, so `POST /auth/google` is really exercised.

    Without a client id the route answers 503 ("not configured"), which the contract wants
    but `not_a_server_error` counts as a failure; with one, the generated credentials reach
    the verifier and get 401s (and nothing leaves the machine).
    """
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk |= {"kid": "schemathesis", "use": "sig", "alg": "RS256"}
    handler = type("JwksHandler", (_JwksHandler,), {"body": json.dumps({"keys": [jwk]}).encode()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/oauth2/v3/certs"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def server(
    migrated: Settings, app: FastAPI, google_jwks_url: str, tmp_path: Path
) -> Iterator[OrbiterServer]:
    """`orbiter serve` with this run's ORBITER_* environment (the database is migrated).

    `app` is requested only so that conftest's `_fresh_state` can empty the tables afterwards
    (it needs the in-process app, and cannot start it itself from inside its event loop).
    """
    port = free_port()
    env = os.environ | {
        "ORBITER_RATE_LIMITS_ENABLED": "false",
        "ORBITER_LOG_LEVEL": "WARNING",
        "ORBITER_GOOGLE_CLIENT_ID": "schemathesis.apps.googleusercontent.com",
        "ORBITER_GOOGLE_JWKS_URL": google_jwks_url,
    }
    log_path = tmp_path / "orbiter.log"
    argv = [str(VENV_BIN / "orbiter"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    running = OrbiterServer(process, f"http://127.0.0.1:{port}", log_path)
    try:
        running.wait_healthy()
        yield running
    finally:
        running.stop()


def create_api_key(base_url: str) -> str:
    """Register, log in with the browser flow, and create an API key with that session."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        email = "schemathesis@example.com"
        body = {"email": email, "password": PASSWORD, "name": "Schemathesis"}
        registered = http.post("/api/v1/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        http.cookies.clear()
        login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        csrf = login.json()["csrf_token"]
        created = http.post(
            "/api/v1/api-keys", json={"name": "schemathesis"}, headers={"X-CSRF-Token": csrf}
        )
        assert created.status_code == 201, created.text
        return str(created.json()["key"])


def key_still_valid(base_url: str, key: str) -> bool:
    response = httpx.get(f"{base_url}/api/v1/auth/me", headers={"X-API-Key": key}, timeout=30)
    return response.status_code == 200


def test_openapi_schema_holds_under_fuzzing(server: OrbiterServer, tmp_path: Path) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"schemathesis CLI not found at {SCHEMATHESIS}; install the dev extras")
    key = create_api_key(server.base_url)
    argv = [
        str(SCHEMATHESIS),
        "run",
        f"{server.base_url}/openapi.json",
        "--header",
        f"X-API-Key: {key}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",  # no .hypothesis folder in the checkout
        "--no-color",
        "--output-truncate",
        "false",
        *EXCLUDE_ARGS,
    ]
    started = time.monotonic()
    # cwd: a temp dir, so no schemathesis.toml from elsewhere applies and no report is left.
    result = subprocess.run(
        argv,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "160"},
    )
    elapsed = time.monotonic() - started
    output = f"{result.stdout}\n{result.stderr}"
    print(output)  # pytest shows it with -s or on failure
    print(f"schemathesis finished in {elapsed:.1f}s (exit {result.returncode})")
    assert server.running(), f"server died during the run\n{server.log_tail()}"
    assert result.returncode == 0, (
        f"schemathesis failed (exit {result.returncode}) after {elapsed:.1f}s:\n{output}"
        f"\n--- server log (tail) ---\n{server.log_tail()}"
    )
    assert key_still_valid(server.base_url, key), (
        "the fuzzed run revoked its own API key, so later operations only saw 401s; "
        f"exclude the operation that did it:\n{output}"
    )
