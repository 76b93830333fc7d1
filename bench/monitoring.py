#!/usr/bin/env python3
"""`GET /api/v1/monitoring/costs?group_by=model` over 1,000,000 spans on PostgreSQL, next to the
same aggregate run directly.

    python bench/monitoring.py [--spans 1000000] [--requests 10] [--rounds 3]

Starts PostgreSQL (the helpers of scripts/run_tests.py) and serves Orbiter on it; signs a user
in and bulk-inserts (asyncpg COPY) runs of 100 spans each into the user's personal project,
every span an LLM call with token usage (the worst case: each one is counted), spread over 30
days and 8 models of 4 providers, one of them unpriced (null cost); then fills the hourly
rollup the way migration 0011 does (`orbiter.monitoring.rollup.backfill_sql`: the engine adds
to it as each span closes, but these spans were copied in) and VACUUM ANALYZE.

The baselines are the same aggregate done directly with raw asyncpg: over the spans
themselves (totals per model and unpriced of the spans with usage in the user's projects:
what Orbiter would scan without the rollup), and over the rollup (the statement Orbiter runs). Before measuring,
the buckets through both are checked to be the same. For each of `--rounds` rounds the
request is made `--requests` times through HTTP and both ways directly, interleaved.
Reported: the median latency of each round, then the median of the rounds.

Target: Orbiter's median under 200 ms. Any error response fails the run. Exit status: 0 when
the target is met, 1 when it is missed or a check or setup failed, 2 when a server binary is
missing, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    info,
    orbiter_env,
    serve_orbiter,
    stop_servers_on_signals,
)
from search import signed_in_user  # type: ignore[import-not-found]  # noqa: E402

from orbiter.monitoring.rollup import backfill_sql  # noqa: E402

TARGET_MS = 200.0
PER_RUN = 100
DAYS = 30
MODELS = [  # (provider, model, price per 1,000 tokens or None: unpriced)
    ("openai", "gpt-4o", 0.005),
    ("openai", "gpt-4o-mini", 0.0006),
    ("openai", "o3", 0.01),
    ("anthropic", "claude-sonnet", 0.003),
    ("anthropic", "claude-haiku", 0.001),
    ("google", "gemini-pro", 0.002),
    ("google", "gemini-flash", 0.0004),
    ("local", "homebrew-7b", None),
]

DIRECT = """
SELECT s.model, s.cost IS NULL AS unpriced, sum(s.tokens_in), sum(s.tokens_out), sum(s.cost),
       count(*)
FROM spans s
WHERE s.project_id IN (SELECT project_id FROM project_members WHERE user_id = $1)
  AND (s.tokens_in > 0 OR s.tokens_out > 0)
GROUP BY s.model, s.cost IS NULL
ORDER BY s.model, s.cost IS NULL
"""

ROLLUP = """
SELECT r.model, NOT r.priced AS unpriced, sum(r.tokens_in), sum(r.tokens_out), sum(r.cost),
       sum(r.spans)
FROM usage_rollups r
WHERE r.project_id IN (SELECT project_id FROM project_members WHERE user_id = $1)
GROUP BY r.model, NOT r.priced
ORDER BY r.model, NOT r.priced
"""

Bucket = tuple[str | None, int, int, float | None, int]


def _spans(project: uuid.UUID, runs: list[uuid.UUID], count: int) -> list[tuple[Any, ...]]:
    rng = random.Random(13)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        provider, model, price = MODELS[rng.randrange(len(MODELS))]
        t_in, t_out = rng.randint(50, 4000), rng.randint(10, 1000)
        cost = None if price is None else round((t_in + t_out) * price / 1000, 6)
        when = start + timedelta(seconds=rng.randrange(DAYS * 86400))
        run = runs[n // PER_RUN]
        rows.append(
            (
                uuid.uuid4(),
                run,
                project,
                "llm",
                "call",
                model,
                provider,
                t_in,
                t_out,
                cost,
                "ok",
                when,
                100,
            )
        )
    return rows


async def insert(database_url: str, user: uuid.UUID, project: uuid.UUID, count: int) -> None:
    runs = [uuid.uuid4() for _ in range((count + PER_RUN - 1) // PER_RUN)]
    now = datetime.now(UTC)
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await connection.copy_records_to_table(
            "runs",
            columns=[
                "id",
                "project_id",
                "user_id",
                "kind",
                "status",
                "input",
                "state",
                "attempts",
                "cancel_requested",
                "tokens_in",
                "tokens_out",
                "created_at",
                "updated_at",
            ],
            records=[
                (r, project, user, "agent", "succeeded", "{}", "{}", 1, False, 0, 0, now, now)
                for r in runs
            ],
        )
        await connection.copy_records_to_table(
            "spans",
            columns=[
                "id",
                "run_id",
                "project_id",
                "type",
                "name",
                "model",
                "provider",
                "tokens_in",
                "tokens_out",
                "cost",
                "status",
                "started_at",
                "duration_ms",
            ],
            records=_spans(project, runs, count),
        )
        # What migration 0011 does to the spans already there (the engine adds to the rollup as
        # each span closes; these spans were copied in behind its back).
        await connection.execute(backfill_sql("postgresql"))
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def direct(connection: asyncpg.Connection, user: uuid.UUID, sql: str) -> list[Bucket]:
    rows = await connection.fetch(sql, user)
    return [
        (r[0], int(r[2]), int(r[3]), None if r[1] else round(float(r[4]), 6), int(r[5]))
        for r in rows
    ]


async def through_api(http: httpx.AsyncClient) -> list[Bucket]:
    response = await http.get("/api/v1/monitoring/costs", params={"group_by": "model"})
    if response.status_code != 200:
        raise RuntimeError(f"monitoring/costs: {response.status_code} {response.text[:300]}")
    return [
        (
            b["key"],
            b["tokens_in"],
            b["tokens_out"],
            None if b["cost"] is None else round(b["cost"], 6),
            b["spans"],
        )
        for b in response.json()["buckets"]
    ]


async def timed(call: Any) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def measure(
    base_url: str, cookie: str, database_url: str, user: uuid.UUID, args: argparse.Namespace
) -> list[tuple[float, ...]]:
    """Per round the medians of (Orbiter, direct over the spans, direct over the rollup)."""
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    cookies = {"orbiter_session": cookie}
    rounds: list[tuple[float, ...]] = []
    try:
        async with httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=60) as http:
            calls = [
                lambda: through_api(http),
                lambda: direct(connection, user, DIRECT),
                lambda: direct(connection, user, ROLLUP),
            ]
            answers = [await call() for call in calls]
            if any(answer != answers[0] for answer in answers):
                raise RuntimeError(f"Orbiter and the baselines disagree: {answers}")
            info(f"{sum(b[4] for b in answers[0]):,} spans in {len(answers[0])} buckets; all agree")
            for number in range(1, args.rounds + 1):
                times = [[await timed(call) for call in calls] for _ in range(args.requests)]
                medians = tuple(statistics.median(c) for c in zip(*times, strict=True))
                info(
                    f"round {number}: Orbiter {medians[0]:.1f} ms, direct over the spans "
                    f"{medians[1]:.1f} ms, direct over the rollup {medians[2]:.1f} ms"
                )
                rounds.append(medians)
    finally:
        await connection.close()
    return rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stop_servers_on_signals()
    try:
        with contextlib.ExitStack() as stack:
            env = orbiter_env(stack)
            workdir = services.make_temp_dir(stack, "orbiter-bench-monitoring-")
            base_url, _ = serve_orbiter(stack, env, workdir=workdir)
            cookie, user, project = signed_in_user(base_url, "monitoring@example.com")
            database_url = env["ORBITER_DATABASE_URL"]
            started = time.monotonic()
            asyncio.run(insert(database_url, user, project, args.spans))
            info(f"PostgreSQL: {args.spans:,} spans in {time.monotonic() - started:.1f} s")
            rounds = asyncio.run(measure(base_url, cookie, database_url, user, args))
    except services.MissingDependency as exc:
        print(f"[bench] {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, httpx.HTTPError, services.SetupError) as exc:
        print(f"[bench] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    ours, spans, rollup = (statistics.median(c) for c in zip(*rounds, strict=True))
    ok = ours < TARGET_MS
    print()
    print(
        f"monitoring/costs?group_by=model over {args.spans:,} spans, median of {args.rounds} rounds:"
    )
    print(f"  PostgreSQL  Orbiter {ours:7.1f} ms   (target < {TARGET_MS:.0f} ms)")
    print(f"  direct, the same aggregate over the spans   {spans:7.1f} ms")
    print(f"  direct, the same aggregate over the rollup  {rollup:7.1f} ms")
    print(f"target: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
