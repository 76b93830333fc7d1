#!/usr/bin/env python3
"""Streaming overhead of `POST /api/v1/chat` against calling the LLM provider directly.

    python bench/streaming.py [--requests 30] [--warmup 5] [--rounds 3] [--anthropic]

Starts the fake OpenAI-compatible provider of the test suite (tests/fakes/llm_servers.py) in
its own process, and Orbiter (`orbiter serve`, one worker, embedded SQLite, rate limits off,
private URLs allowed so it may reach the fake on loopback). A user adds the fake as a
provider; then, one request at a time, it times

* direct: `POST /v1/chat/completions` (stream) on the fake, over a kept-alive connection;
* API:    `POST /api/v1/chat` on Orbiter (API key auth), which looks the provider up,
          decrypts its key, checks the address and streams the completion through the SDK;

measuring time to first token and total time (last byte). The first token is found by parsing
the event stream: the first OpenAI chunk with non-empty `delta.content`, Anthropic
`content_block_delta` with text, Orbiter's `delta` event with text; a stream without one, an
`error` event, a missing `done` or any non-200 answer fails the run. `--rounds` rounds of
`--requests` interleaved pairs; each round's overhead (API minus direct, at the median) and
the median of the rounds are printed; target: under 10 ms. Exit status 0 when it is met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    embedded_env,
    info,
    serve_orbiter,
    start_process,
    stop_servers_on_signals,
)

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
    env = embedded_env(stack, "orbiter-bench-chat-", ORBITER_ALLOW_PRIVATE_URLS="true")
    base_url, _ = serve_orbiter(stack, env, workdir=Path(env["ORBITER_DATA_DIR"]))
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


def sse_events(buffer: bytes) -> tuple[list[tuple[str, str]], int]:
    """The complete events at the start of `buffer` as (event name, data), and where they end."""
    events, end = [], 0
    normalised = buffer.replace(b"\r\n", b"\n")
    while (cut := normalised.find(b"\n\n", end)) != -1:
        name, data = "", []
        for line in normalised[end:cut].decode().split("\n"):
            field, _, value = line.partition(":")
            if field == "event":
                name = value.strip()
            elif field == "data":
                data.append(value.removeprefix(" "))
        events.append((name, "\n".join(data)))
        end = cut + 2
    return events, end


def is_first_token(name: str, data: str) -> bool:
    """A chunk carrying text: OpenAI's content delta, Anthropic's text delta, Orbiter's delta."""
    if not data or data == "[DONE]":
        return False
    payload = json.loads(data)
    if name == "delta":  # Orbiter
        return bool(payload.get("text"))
    if name == "content_block_delta":  # Anthropic
        return payload["delta"].get("type") == "text_delta" and bool(payload["delta"]["text"])
    choices = payload.get("choices") or [{}]  # OpenAI (unnamed events)
    return bool(choices[0].get("delta", {}).get("content"))


def timed_stream(
    http: httpx.Client, url: str, body: dict[str, object]
) -> tuple[float, float, list[str]]:
    """(seconds to the first token, seconds to the end, the stream's event names)."""
    started = time.perf_counter()
    first = None
    received = b""
    names: list[str] = []
    with http.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            response.read()
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        for chunk in response.iter_raw():
            received += chunk
            events, end = sse_events(received)
            received = received[end:]
            for name, data in events:
                names.append(name)
                if first is None and is_first_token(name, data):
                    first = time.perf_counter() - started
    total = time.perf_counter() - started
    if first is None:
        raise RuntimeError(f"no token found in the stream of {url} (events: {names[:20]})")
    return first, total, names


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def provider_setup(
    args: argparse.Namespace, openai_url: str, anthropic_url: str
) -> tuple[dict[str, object], str, dict[str, object], dict[str, str]]:
    """(the provider to add, the direct URL, its body, its headers)."""
    messages = [{"role": "user", "content": PROMPT}]
    key = "sk-bench-key-00000000"
    if args.anthropic:
        provider: dict[str, object] = {
            "name": "fake",
            "type": "anthropic",
            "base_url": anthropic_url,
            "api_key": key,
            "models": ["claude-echo"],
        }
        body: dict[str, object] = {
            "model": "claude-echo",
            "max_tokens": 256,
            "stream": True,
            "messages": messages,
        }
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        return provider, f"{anthropic_url}/v1/messages", body, headers
    provider = {
        "name": "fake",
        "type": "openai_compatible",
        "base_url": openai_url,
        "api_key": key,
        "models": ["echo"],
    }
    body = {
        "model": "echo",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": messages,
    }
    return provider, f"{openai_url}/chat/completions", body, {"Authorization": f"Bearer {key}"}


Samples = dict[str, tuple[list[float], list[float]]]  # side -> (first-token, total) seconds


def run_round(
    args: argparse.Namespace,
    direct: httpx.Client,
    api: httpx.Client,
    direct_url: str,
    direct_body: dict[str, object],
) -> Samples:
    """Warm-up, then `--requests` pairs, the direct call and the API call one after the other."""
    api_body = {"messages": [{"role": "user", "content": PROMPT}]}
    samples: Samples = {"direct": ([], []), "api": ([], [])}
    for number in range(args.warmup + args.requests):
        d_first, d_total, _ = timed_stream(direct, direct_url, direct_body)
        a_first, a_total, names = timed_stream(api, "/api/v1/chat", api_body)
        if "error" in names or "done" not in names:
            raise RuntimeError(f"the API stream failed or did not finish: events {names}")
        if number >= args.warmup:
            for side, first, total in (("direct", d_first, d_total), ("api", a_first, a_total)):
                samples[side][0].append(first)
                samples[side][1].append(total)
    return samples


def overheads(samples: Samples) -> tuple[float, float]:
    """(first-token, total) overhead of the API at the median, in ms."""
    api, direct = samples["api"], samples["direct"]
    return (
        1000 * (statistics.median(api[0]) - statistics.median(direct[0])),
        1000 * (statistics.median(api[1]) - statistics.median(direct[1])),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="measured pairs per round")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median)")
    parser.add_argument("--anthropic", action="store_true", help="use the Anthropic-style fake")
    parser.add_argument("--serve-fake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake(args.serve_fake)
        return 0
    stop_servers_on_signals()
    rounds: list[Samples] = []
    try:
        with contextlib.ExitStack() as stack:
            openai_url, anthropic_url = start_fake(stack)
            base_url = start_orbiter(stack)
            provider, direct_url, direct_body, direct_headers = provider_setup(
                args, openai_url, anthropic_url
            )
            key = set_up_user(base_url, provider)
            with (
                httpx.Client(timeout=30, headers=direct_headers) as direct,
                httpx.Client(base_url=base_url, timeout=30, headers={"X-API-Key": key}) as api,
            ):
                for number in range(1, args.rounds + 1):
                    info(f"round {number}: {args.warmup} warm-up and {args.requests} pairs")
                    rounds.append(run_round(args, direct, api, direct_url, direct_body))
    except (RuntimeError, httpx.HTTPError, services.SetupError) as exc:
        print(f"[bench] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    print()
    print(
        f"{'round':8}{'side':8}{'TTFT p50':>10}{'TTFT p90':>10}{'total p50':>11}{'total p90':>11}   (ms)"
    )
    for number, samples in enumerate(rounds, start=1):
        for side, (firsts, totals) in samples.items():
            print(
                f"{number:<8}{side:8}{ms(firsts, 0.5):10.2f}{ms(firsts, 0.9):10.2f}"
                f"{ms(totals, 0.5):11.2f}{ms(totals, 0.9):11.2f}"
            )
    per_round = [overheads(samples) for samples in rounds]
    ttft = statistics.median(first for first, _ in per_round)
    total = statistics.median(total for _, total in per_round)
    print()
    print(
        "overhead per round (first token / total, ms): "
        + ", ".join(f"{first:.2f} / {whole:.2f}" for first, whole in per_round)
    )
    print(
        f"overhead, median of {len(rounds)} rounds: time to first token {ttft:.2f} ms, "
        f"total {total:.2f} ms (target < {TARGET_MS:.0f} ms)"
    )
    ok = ttft < TARGET_MS and total < TARGET_MS
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
