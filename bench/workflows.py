#!/usr/bin/env python3
"""Workflow engine overhead per node, and parallel branches that really overlap.

    python bench/workflows.py [--rounds 3]

Starts PostgreSQL and Redis (as scripts/run_tests.py does), serves Orbiter and runs one real
`orbiter worker` process on them, and a loopback HTTP server whose answers take 100 ms
(`ORBITER_ALLOW_PRIVATE_URLS=true` lets the workflow reach it). Two workflows, their rounds
interleaved, the median of `--rounds` reported:

* cheap: 200 nodes of real cheap work: a trigger, 50 parallel branches of template_jinja ->
  json_transform (JMESPath) -> template_jinja, an aggregator joining them, and a chain of 48
  template_jinja nodes. The run's wall time (its `started_at` to `finished_at`) minus the
  baseline, over 200, is the engine's overhead per node: spans written, events published,
  scheduling. The baseline does the same template renders and JMESPath searches directly in
  this process, one after another, templates compiled once as the engine caches them.
* fan-out: a trigger, 50 http_request nodes to the 100 ms server, an aggregator. Its wall time
  is compared with 50 concurrent direct requests to the same server (the baseline).

Any run that does not succeed fails the bench. Targets: under 2 ms of overhead per node, and
the 50 sleeping branches under 0.5 s (they overlap). Exit status 0 when both are met.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jmespath
from jinja2.sandbox import ImmutableSandboxedEnvironment

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    VENV_BIN,
    info,
    orbiter_env,
    serve_orbiter,
    sign_in,
    start_process,
    stop_servers_on_signals,
)

PER_NODE_TARGET_MS = 2.0
FAN_OUT_TARGET_S = 0.5
BRANCHES = 50
CHAIN = 48
SLOW_SECONDS = 0.1
INPUTS = {"name": "orbiter", "numbers": list(range(20))}
FIRST = "{{ inputs.name }}-{{ inputs.numbers | length }}"
EXPRESSION = "[?@ > `2`]"
LAST = "{{ input | length }}"
CHAINED = "{{ input | string | length }}"


def _node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    data = {"nodeType": node_type, "label": node_id, **config}
    return {"id": node_id, "type": "custom", "data": data, "position": {"x": 0, "y": 0}}


def _edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}->{target}", "source": source, "target": target}


def cheap_canvas() -> dict[str, Any]:
    nodes = [_node("start", "manual")]
    edges = []
    for i in range(BRANCHES):
        first, transform, last = f"b{i}_first", f"b{i}_transform", f"b{i}_last"
        nodes += [
            _node(first, "template_jinja", template=FIRST),
            _node(transform, "json_transform", expression=EXPRESSION, data="{{ inputs.numbers }}"),
            _node(last, "template_jinja", template=LAST),
        ]
        edges += [
            _edge("start", first),
            _edge(first, transform),
            _edge(transform, last),
            _edge(last, "join"),
        ]
    nodes.append(_node("join", "aggregator", mode="list"))
    previous = "join"
    for i in range(CHAIN):
        nodes.append(_node(f"c{i}", "template_jinja", template=CHAINED))
        edges.append(_edge(previous, f"c{i}"))
        previous = f"c{i}"
    assert len(nodes) == 200
    return {"nodes": nodes, "edges": edges}


def fan_out_canvas(url: str) -> dict[str, Any]:
    nodes = [_node("start", "manual"), _node("join", "aggregator", mode="list")]
    edges = []
    for i in range(BRANCHES):
        nodes.append(_node(f"get{i}", "http_request", url=f"{url}?n={i}"))
        edges += [_edge("start", f"get{i}"), _edge(f"get{i}", "join")]
    return {"nodes": nodes, "edges": edges}


def cheap_baseline() -> float:
    """The cheap workflow's node work, done directly: seconds."""
    env = ImmutableSandboxedEnvironment()
    first, last, chained = (env.from_string(t) for t in (FIRST, LAST, CHAINED))
    expression = jmespath.compile(EXPRESSION)
    started = time.perf_counter()
    joined = []
    for _ in range(BRANCHES):
        text = first.render(inputs=INPUTS)
        selected = expression.search(INPUTS["numbers"])
        joined.append(last.render(input=selected, text=text))
    value: Any = joined
    for _ in range(CHAIN):
        value = chained.render(input=value)
    return time.perf_counter() - started


async def fan_out_baseline(url: str) -> float:
    async with httpx.AsyncClient(timeout=10) as http:
        started = time.perf_counter()
        answers = await asyncio.gather(*(http.get(url, params={"n": i}) for i in range(BRANCHES)))
        elapsed = time.perf_counter() - started
    if any(a.status_code != 200 for a in answers):
        raise RuntimeError("the slow server failed a baseline request")
    return elapsed


class Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(SLOW_SECONDS)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SlowServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the listen backlog: 50 connections at once, none dropped


def slow_server(stack: contextlib.ExitStack) -> str:
    server = SlowServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}/slow"


def run_seconds(http: httpx.Client, workflow_id: str, timeout: float = 120) -> float:
    """Run the workflow; its wall time on the worker (started_at to finished_at)."""
    started = http.post(f"/api/v1/workflows/{workflow_id}/run", json={"inputs": INPUTS})
    run_id = started.raise_for_status().json()["id"]
    deadline = time.monotonic() + timeout
    while True:
        run = http.get(f"/api/v1/runs/{run_id}").raise_for_status().json()
        if run["status"] in ("succeeded", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} did not finish in {timeout} s")
        time.sleep(0.05)
    if run["status"] != "succeeded":
        raise RuntimeError(f"run {run_id} {run['status']}: {run['error']}")
    return _seconds(run["finished_at"]) - _seconds(run["started_at"])


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def create(http: httpx.Client, name: str, canvas: dict[str, Any]) -> str:
    response = http.post("/api/v1/workflows", json={"name": name, "canvas": canvas})
    if response.status_code != 201:
        raise RuntimeError(f"creating {name}: {response.status_code} {response.text[:500]}")
    return str(response.json()["id"])


def measure(base_url: str, url: str, rounds: int) -> list[tuple[float, float, float, float]]:
    rows = []
    with httpx.Client(base_url=base_url, timeout=60) as http:
        http.headers.update(sign_in(http, "workflows@example.com"))
        cheap = create(http, "cheap", cheap_canvas())
        fan_out = create(http, "fan-out", fan_out_canvas(url))
        run_seconds(http, cheap)  # warm the worker: imports, template caches, connections
        run_seconds(http, fan_out)
        for number in range(1, rounds + 1):
            wall, base = run_seconds(http, cheap), cheap_baseline()
            fan, fan_base = run_seconds(http, fan_out), asyncio.run(fan_out_baseline(url))
            per_node = (wall - base) / 200 * 1000
            info(
                f"round {number}: cheap {wall * 1000:.0f} ms (baseline {base * 1000:.1f} ms, "
                f"{per_node:.2f} ms/node); fan-out {fan * 1000:.0f} ms "
                f"(baseline {fan_base * 1000:.0f} ms)"
            )
            rows.append((per_node, wall, fan, fan_base))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stop_servers_on_signals()
    try:
        with contextlib.ExitStack() as stack:
            env = orbiter_env(stack) | {
                "ORBITER_RATE_LIMITS_ENABLED": "false",
                "ORBITER_ALLOW_PRIVATE_URLS": "true",
            }
            workdir = services.make_temp_dir(stack, "orbiter-bench-workflows-")
            url = slow_server(stack)
            base_url, _ = serve_orbiter(stack, env, workdir=workdir)
            worker = start_process(
                stack, "worker", [str(VENV_BIN / "orbiter"), "worker"], env, workdir
            )
            info(f"one worker process (pid {worker.process.pid}) on Redis")
            rows = measure(base_url, url, args.rounds)
            if not worker.running():
                raise RuntimeError(f"the worker died:\n{services.log_tail(worker.log_path)}")
    except (RuntimeError, httpx.HTTPError, services.SetupError) as exc:
        print(f"[bench] FAILED: {exc!r}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    per_node, wall, fan, fan_base = (statistics.median(c) for c in zip(*rows, strict=True))
    print()
    print(f"workflows on PostgreSQL + Redis, one worker process, median of {args.rounds} rounds:")
    print(f"  200 cheap nodes         {wall * 1000:8.0f} ms")
    print(f"  overhead per node       {per_node:8.2f} ms  (target < {PER_NODE_TARGET_MS:.0f} ms)")
    print(
        f"  50 branches of 100 ms   {fan * 1000:8.0f} ms  (target < {FAN_OUT_TARGET_S * 1000:.0f}"
        f" ms; direct concurrent requests {fan_base * 1000:.0f} ms, ratio {fan / fan_base:.1f})"
    )
    ok = per_node < PER_NODE_TARGET_MS and fan < FAN_OUT_TARGET_S
    print(f"targets: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
