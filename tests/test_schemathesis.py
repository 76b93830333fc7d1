"""Property-based API test: schemathesis fuzzes the real server from its own OpenAPI schema.

The server runs as a subprocess (`orbiter serve`) on a free loopback port with the same
ORBITER_* environment as the rest of the suite (so this runs on both backends), rate limits
off. The test signs a user up over HTTP, creates an API key, and hands it to the schemathesis
CLI, which checks every operation for server errors, undeclared status codes, content types
and headers, responses that do not match the declared schema, and declared-but-unenforced
authentication. A second, short run covers the few operations that refuse API keys by design,
with a browser session; a third the operations that call an LLM, where 502 and 503 (but no
other server error) are expected.

Deeper local search: ORBITER_SCHEMATHESIS_MAX_EXAMPLES=500 ORBITER_SCHEMATHESIS_SEED=7 ...
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
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
from tests.fakes.llm_servers import FakeLLM, provider_body
from tests.helpers import PASSWORD, free_port

VENV_BIN = Path(sys.executable).parent
SCHEMATHESIS = VENV_BIN / "schemathesis"

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ignored_auth",
)
# Fixed seed and a bounded number of cases per operation: the same run every time. (At 25
# examples the PostgreSQL NUL-byte 500s were missed; at 100 they are not.) The API-key run
# covers every operation: several minutes on a quiet machine, more than 10 with four CI shards
# on two cores, hence the generous per-run limit.
SEED = int(os.environ.get("ORBITER_SCHEMATHESIS_SEED", "20240611"))
MAX_EXAMPLES = int(os.environ.get("ORBITER_SCHEMATHESIS_MAX_EXAMPLES", "100"))
RUN_TIMEOUT = 1500.0

# Nothing is excluded from the API-key run. What could cost the test its own credentials:
# `POST /auth/logout` answers 400 for API keys (keys are revoked only by id), and the
# generated ids for `DELETE /api-keys/{key_id}` match nothing. The stateful phase does follow
# `GET /auth/sessions` to `DELETE /auth/sessions/{session_id}` and revokes browser sessions,
# which is why the session run goes first. After each run the test checks that its
# credential still works, so a run that lost it half-way (and then saw nothing but 401s)
# cannot pass unnoticed.
SESSION_ONLY_PATHS = r"^/api/v1/(api-keys|oauth/device/(authorize|deny))"
# Operations that call the user's LLM provider. The fuzzer also creates providers of its own
# (with made-up base URLs) and may make one the default, so these answer 502/503 by contract
# (an upstream failure is UPSTREAM_ERROR, no usable provider SERVICE_UNAVAILABLE). They get a run
# of their own in which `not_a_server_error` accepts exactly those two: a 500 still fails it.
LLM_CALL_PATHS = (
    r"^/api/v1/(chat(/morph-chat)?|conversations/\{[^}]+\}/messages"
    r"|projects/\{[^}]+\}/(next-steps/generate|decisions/extract))$"
)
# Operations that call GitHub or a deploy provider (README: Infrastructure and GitHub) run with
# them: 502 when it fails (the suite points GitHub at a closed loopback port), 503 without a
# GitHub token.
LLM_CALL_PATHS += r"|^/api/v1/(github/(user|repos|orgs)|infrastructure/credentials)$"
EXCLUDE_ARGS: tuple[str, ...] = ("--exclude-path-regex", LLM_CALL_PATHS)
LLM_CONFIG = """[checks.not_a_server_error]
expected-statuses = ["2xx", "3xx", "4xx", "502", "503"]
"""


ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 180.0  # generous: the suite runs in shards side by side on few cores
ACCESS_LINE = re.compile(r"INFO: +[\d.]+:\d+ - ")


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
    """`orbiter serve` with this run's ORBITER_* environment (the database is migrated), and
    with Redis an `orbiter worker` beside it, as deployed: without one the runs the fuzzer
    starts stay queued, and following their events (SSE until the run ends) hangs each
    request until its timeout.

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
    if migrated.is_sqlite:
        # A database of its own: two processes writing one SQLite file (this one's app runs
        # its periodic jobs too) wait on each other's locks, which embedded mode never does.
        env["ORBITER_DATA_DIR"] = str(tmp_path / "data")
        subprocess.run(
            [str(VENV_BIN / "orbiter"), "migrate"], cwd=ROOT, env=env, check=True, timeout=300
        )
    log_path = tmp_path / "orbiter.log"
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    commands = [serve, ["worker"]] if env.get("ORBITER_REDIS_URL") else [serve]
    with log_path.open("wb") as log:
        processes = [
            subprocess.Popen(
                [str(VENV_BIN / "orbiter"), *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
            for args in commands
        ]
    running = [OrbiterServer(p, f"http://127.0.0.1:{port}", log_path) for p in processes]
    try:
        running[0].wait_healthy()
        yield running[0]
    finally:
        for each in running:
            each.stop()


@dataclass
class Credentials:
    api_key: str
    cookie: str  # a browser session of its own, not the one that created the key
    csrf_token: str

    def key_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def session_headers(self) -> dict[str, str]:
        return {"Cookie": f"orbiter_session={self.cookie}", "X-CSRF-Token": self.csrf_token}


def sign_up(base_url: str) -> Credentials:
    """Register, log in with the browser flow, create an API key, then log in once more."""
    email = "schemathesis@example.com"
    with httpx.Client(base_url=base_url, timeout=30) as http:
        body = {"email": email, "password": PASSWORD, "name": "Schemathesis"}
        registered = http.post("/api/v1/auth/register", json=body)
        assert registered.status_code == 201, registered.text
        http.cookies.clear()
        login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        created = http.post(
            "/api/v1/api-keys",
            json={"name": "schemathesis"},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        assert created.status_code == 201, created.text
    with httpx.Client(base_url=base_url, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        cookie = http.cookies.get("orbiter_session")
        assert cookie, login.headers
    return Credentials(created.json()["key"], cookie, login.json()["csrf_token"])


def still_signed_in(base_url: str, headers: dict[str, str]) -> bool:
    response = httpx.get(f"{base_url}/api/v1/auth/me", headers=headers, timeout=30)
    return response.status_code == 200


@dataclass
class Run:
    name: str
    returncode: int
    output: str
    seconds: float


def schemathesis(
    name: str,
    base_url: str,
    headers: dict[str, str],
    extra: list[str],
    workdir: Path,
    config: str = "",
) -> Run:
    workdir.mkdir()
    config_file = workdir / "schemathesis.toml"
    config_file.write_text(config)
    argv = [str(SCHEMATHESIS), "--config-file", str(config_file), "run", f"{base_url}/openapi.json"]
    for header, value in headers.items():
        argv += ["--header", f"{header}: {value}"]
    argv += ["--checks", ",".join(CHECKS)]
    argv += ["--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1"]
    argv += ["--request-timeout", "20", "--suppress-health-check", "all"]
    argv += ["--generation-database", "none"]  # no .hypothesis folder anywhere
    argv += ["--no-color", "--output-truncate", "false", *extra]
    started = time.monotonic()
    # cwd: a temp dir holding only this run's config, so no schemathesis.toml from elsewhere
    # applies.
    result = subprocess.run(
        argv,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "160"},
    )
    seconds = time.monotonic() - started
    output = f"{result.stdout}\n{result.stderr}"
    # The full output is in the assertion message when a run fails; with -s, here as well.
    print(f"===== schemathesis, {name}: exit {result.returncode} in {seconds:.1f}s\n{output}")
    return Run(name, result.returncode, output, seconds)


def add_fake_provider(base_url: str, credentials: Credentials, fake: FakeLLM) -> None:
    """Give the fuzzing user a working default provider, so LLM calls reach the real path."""
    body = provider_body(fake, is_default=True)
    response = httpx.post(
        f"{base_url}/api/v1/providers", json=body, headers=credentials.key_headers(), timeout=30
    )
    assert response.status_code == 201, response.text


def test_openapi_schema_holds_under_fuzzing(
    server: OrbiterServer, tmp_path: Path, fake_llm_servers: FakeLLM
) -> None:
    if not SCHEMATHESIS.exists():
        pytest.fail(f"schemathesis CLI not found at {SCHEMATHESIS}; install the dev extras")
    credentials = sign_up(server.base_url)
    add_fake_provider(server.base_url, credentials, fake_llm_servers)
    runs: list[Run] = []
    # API keys get 403 from these by design (keys cannot mint keys or approve devices), so the
    # API-key run never reaches their logic: fuzz them as the browser does. This run goes
    # first and leaves out logout and session revocation, which would end its own session
    # (the API-key run below does revoke browser sessions it finds in GET /auth/sessions).
    runs.append(
        schemathesis(
            "browser session, cookie-only operations",
            server.base_url,
            credentials.session_headers(),
            ["--include-path-regex", SESSION_ONLY_PATHS],
            tmp_path / "session",
        )
    )
    assert still_signed_in(server.base_url, credentials.session_headers()), (
        "the browser-session run lost its session half-way, so it only saw 401s"
    )
    # Every operation, as a CI job would call it.
    runs.append(
        schemathesis(
            "API key, all operations",
            server.base_url,
            credentials.key_headers(),
            list(EXCLUDE_ARGS),
            tmp_path / "api-key",
        )
    )
    assert still_signed_in(server.base_url, credentials.key_headers()), (
        "a fuzzed request revoked the test's own API key, so the operations after it only "
        "saw 401s; exclude the operation that did it"
    )
    runs.append(
        schemathesis(
            "API key, LLM-calling operations (502/503 allowed)",
            server.base_url,
            credentials.key_headers(),
            ["--include-path-regex", LLM_CALL_PATHS],
            tmp_path / "llm",
            config=LLM_CONFIG,
        )
    )
    assert server.running(), f"server died during the run\n{server.log_tail()}"
    failed = [run for run in runs if run.returncode != 0]
    assert not failed, (
        "\n\n".join(
            f"schemathesis ({run.name}) failed, exit {run.returncode} after {run.seconds:.1f}s:"
            f"\n{run.output}"
            for run in failed
        )
        + f"\n--- server log (tail, access lines left out) ---\n{server.log_tail()}"
    )
