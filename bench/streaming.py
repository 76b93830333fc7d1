#!/usr/bin/env python3
"""Streaming overhead of `POST /api/v1/chat` against calling the LLM provider directly.

    python bench/streaming.py [--requests 60] [--warmup 5] [--anthropic]

Starts the fake OpenAI-compatible provider of the test suite (tests/fakes/llm_servers.py) in
its own process, and Orbiter (`orbiter serve`, one worker, embedded SQLite, rate limits off,
private URLs allowed so it may reach the fake on loopback). A user adds the fake as a
provider; then, one request at a time, it times

* direct: `POST /v1/chat/completions` (stream) on the fake, over a kept-alive connection;
* API:    `POST /api/v1/chat` on Orbiter (API key auth), which looks the provider up,
          decrypts its key, checks the address and streams the completion through the SDK;

measuring time to first token (first content delta) and total time (last byte). Prints the
medians and p90s, and the overhead (API minus direct) at the median; target: under 10 ms.
Exit status 0 when the target is met.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import info, serve_orbiter, start_process  # type: ignore[import-not-found]  # noqa: E402

PASSWORD = "correct horse battery staple"
TARGET_MS = 10.0
PROMPT = "Tell me about the orbit of the Moon around the Earth, in a few words please."


def serve_fake(port_file: Path) -> None:
    """Child process: run the fake providers until killed; write their URLs to port_file."""
    from tests.fakes.llm_servers import FakeLLM

    fake = FakeLLM()
    fake.start()
    port_file.write_text(f"{fake.openai_url}\n{fake.anthropic_url}\n")
    while True:
        time.sleep(3600)


def start_fake(stack: contextlib.ExitStack) -> tuple[str, str]:
    workdir = services.make_temp_dir(stack, "orbiter-bench-fake-")
    port_file = workdir / "urls"
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve-fake", str(port_file)]
    server = start_process(stack, "fake-llm", argv, services.base_env(), workdir)
    services.wait_until(
        server, lambda: port_file.exists() and port_file.read_text().count("\n") == 2
    )
    openai_url, anthropic_url = port_file.read_text().split()
    return openai_url, anthropic_url


def start_orbiter(stack: contextlib.ExitStack) -> str:
    data_dir = services.make_temp_dir(stack, "orbiter-bench-chat-")
    env = services.base_env() | {
        "ORBITER_ENVIRONMENT": "development",
        "ORBITER_DATA_DIR": str(data_dir),
        "ORBITER_RATE_LIMITS_ENABLED": "false",
        "ORBITER_ALLOW_PRIVATE_URLS": "true",
        "ORBITER_LOG_LEVEL": "WARNING",
    }
    base_url, _ = serve_orbiter(stack, env, workdir=data_dir)
    return base_url


def set_up_user(base_url: str, provider: dict[str, object]) -> str:
    """Register, add the provider, mint an API key; returns the key."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        body = {"email": "bench@example.com", "password": PASSWORD, "name": "Bench"}
        http.post("/api/v1/auth/register", json=body).raise_for_status()
        http.cookies.clear()
        login = http.post("/api/v1/auth/login", json={"email": body["email"], "password": PASSWORD})
        login.raise_for_status()
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        http.post("/api/v1/providers", json=provider, headers=csrf).raise_for_status()
        key = http.post("/api/v1/api-keys", json={"name": "bench"}, headers=csrf)
        key.raise_for_status()
        return str(key.json()["key"])


def timed_stream(
    http: httpx.Client, url: str, body: dict[str, object], first_marker: bytes
) -> tuple[float, float, bytes]:
    """(seconds to the first line containing first_marker, seconds to the end, body)."""
    started = time.perf_counter()
    first = None
    received = bytearray()
    with http.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        for chunk in response.iter_raw():
            received += chunk
            if first is None and first_marker in received:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return (first if first is not None else total), total, bytes(received)


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--anthropic", action="store_true", help="use the Anthropic-style fake")
    parser.add_argument("--serve-fake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return 0
    with contextlib.ExitStack() as stack:
        openai_url, anthropic_url = start_fake(stack)
        base_url = start_orbiter(stack)
        if args.anthropic:
            provider = {
                "name": "fake",
                "type": "anthropic",
                "base_url": anthropic_url,
                "api_key": "sk-bench-key-00000000",
                "models": ["claude-echo"],
            }
            direct_url, marker = f"{anthropic_url}/v1/messages", b'"text_delta"'
            direct_body: dict[str, object] = {
                "model": "claude-echo",
                "max_tokens": 256,
                "stream": True,
                "messages": [{"role": "user", "content": PROMPT}],
            }
            direct_headers = {
                "x-api-key": "sk-bench-key-00000000",
                "anthropic-version": "2023-06-01",
            }
        else:
            provider = {
                "name": "fake",
                "type": "openai_compatible",
                "base_url": openai_url,
                "api_key": "sk-bench-key-00000000",
                "models": ["echo"],
            }
            direct_url, marker = f"{openai_url}/chat/completions", b'"content":"E'
            direct_body = {
                "model": "echo",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": PROMPT}],
            }
            direct_headers = {"Authorization": "Bearer sk-bench-key-00000000"}
        key = set_up_user(base_url, provider)
        api_body = {"messages": [{"role": "user", "content": PROMPT}]}
        results: dict[str, tuple[list[float], list[float]]] = {"direct": ([], []), "api": ([], [])}
        with (
            httpx.Client(timeout=30, headers=direct_headers) as direct,
            httpx.Client(base_url=base_url, timeout=30, headers={"X-API-Key": key}) as api,
        ):
            info(f"{args.warmup} warm-up and {args.requests} measured requests each, interleaved")
            for number in range(args.warmup + args.requests):
                d_first, d_total, _ = timed_stream(direct, direct_url, direct_body, marker)
                a_first, a_total, body = timed_stream(
                    api, "/api/v1/chat", api_body, b"event: delta"
                )
                if b"event: done" not in body:
                    raise RuntimeError(f"the API stream did not finish: {body[-300:]!r}")
                if number >= args.warmup:
                    results["direct"][0].append(d_first)
                    results["direct"][1].append(d_total)
                    results["api"][0].append(a_first)
                    results["api"][1].append(a_total)
    print()
    print(f"{'':8}{'TTFT p50':>10}{'TTFT p90':>10}{'total p50':>11}{'total p90':>11}   (ms)")
    for name, (firsts, totals) in results.items():
        print(
            f"{name:8}{ms(firsts, 0.5):10.2f}{ms(firsts, 0.9):10.2f}{ms(totals, 0.5):11.2f}{ms(totals, 0.9):11.2f}"
        )
    ttft_overhead = 1000 * (
        statistics.median(results["api"][0]) - statistics.median(results["direct"][0])
    )
    total_overhead = 1000 * (
        statistics.median(results["api"][1]) - statistics.median(results["direct"][1])
    )
    print()
    print(
        f"overhead at the median: time to first token {ttft_overhead:.2f} ms, "
        f"total {total_overhead:.2f} ms (target < {TARGET_MS:.0f} ms)"
    )
    ok = ttft_overhead < TARGET_MS and total_overhead < TARGET_MS
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
