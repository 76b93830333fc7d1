#!/usr/bin/env python3
"""Search over 100,000 messages, on PostgreSQL and on SQLite, next to the same FTS statements
run directly.

    python bench/search.py [--messages 100000] [--requests 15] [--rounds 3]

Starts PostgreSQL (the helpers of scripts/run_tests.py) and serves Orbiter on it, and serves a
second Orbiter on its embedded SQLite; signs a user in on each and bulk-inserts `--messages`
messages (in conversations of 100) into the user's personal project straight with SQL
(asyncpg COPY; sqlite3 executemany), so the search triggers index them as any write would;
then VACUUM ANALYZE on PostgreSQL. Each message is 30 words drawn from a 5,000-word
vocabulary with Zipf frequencies; the queries are words of several frequencies (from about
20% of the messages down to about 0.2%) and a two-word query.

The baseline is what `GET /api/v1/search` runs, written out by hand and run directly (raw
asyncpg; sqlite3 on the same database file): the ranked page with its total, then the page's
titles and snippets. Before measuring, the page of every query is checked to be the same
(ids in order, and the total) through both. For each of `--rounds` rounds and each backend,
each query is asked `--requests` times through HTTP and directly, interleaved one by one.
Reported: the median latency over the round's requests, then the median of the rounds.

Target: Orbiter's median under 100 ms on each backend. Any error response fails the run.
Exit status: 0 when the target is met, 1 when it is missed or a check or setup failed, 2 when
a server binary is missing, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
    embedded_env,
    info,
    orbiter_env,
    serve_orbiter,
    sign_in,
    stop_servers_on_signals,
)

from orbiter.search import postgres as pg_search  # noqa: E402
from orbiter.search import sqlite as sqlite_search  # noqa: E402
from orbiter.search.queries import MARK_END, MARK_START, SNIPPET_WORDS  # noqa: E402

TARGET_MS = 100.0
PAGE = 20
WORDS_PER_MESSAGE = 30
VOCABULARY = 5_000
PER_CONVERSATION = 100
QUERY_RANKS = (10, 100, 1000)  # Zipf ranks of the one-word queries; plus one of two words
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]

Measure = Callable[[str], Awaitable[tuple[list[str], int]]]


# --------------------------------------------------------------------------------------------
# The corpus


def vocabulary(rng: random.Random) -> list[str]:
    """Distinct made-up words of three syllables, in Zipf rank order."""
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        words["".join(rng.choice(SYLLABLES) for _ in range(3))] = None
    return list(words)


def messages(count: int, words: list[str], rng: random.Random) -> list[str]:
    weights = [1 / rank for rank in range(1, len(words) + 1)]
    return [" ".join(rng.choices(words, weights, k=WORDS_PER_MESSAGE)) for _ in range(count)]


def queries(words: list[str]) -> list[str]:
    return [words[rank - 1] for rank in QUERY_RANKS] + [f"{words[29]} {words[59]}"]


@dataclass
class Rows:
    """The conversations and messages to insert, as plain values."""

    conversations: list[tuple[uuid.UUID, str, datetime]]
    messages: list[tuple[uuid.UUID, uuid.UUID, str, str, datetime]]


def rows(texts: list[str]) -> Rows:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    conversations, found = [], []
    for n, text in enumerate(texts):
        if n % PER_CONVERSATION == 0:
            when = start + timedelta(minutes=n)
            conversations.append((uuid.uuid4(), f"Chat {n // PER_CONVERSATION}", when))
        cid, _, when = conversations[-1]
        role = "user" if n % 2 == 0 else "assistant"
        found.append((uuid.uuid4(), cid, role, text, when + timedelta(seconds=n)))
    return Rows(conversations, found)


# --------------------------------------------------------------------------------------------
# Bulk inserts (the search triggers index every row)


async def insert_pg(database_url: str, user: uuid.UUID, project: uuid.UUID, data: Rows) -> None:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await connection.copy_records_to_table(
            "conversations",
            columns=["id", "project_id", "user_id", "title", "created_at", "updated_at"],
            records=[(c, project, user, title, w, w) for c, title, w in data.conversations],
        )
        columns = ["id", "conversation_id", "role", "content", "parts", "status"]
        await connection.copy_records_to_table(
            "messages",
            columns=[*columns, "user_id", "created_at", "updated_at"],
            records=[(m, c, r, t, "[]", "complete", user, w, w) for m, c, r, t, w in data.messages],
        )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def _sqlite_time(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def insert_sqlite(path: Path, user: uuid.UUID, project: uuid.UUID, data: Rows) -> None:
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db, db:
        db.executemany(
            "INSERT INTO conversations (id, project_id, user_id, title, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (c.hex, project.hex, user.hex, t, _sqlite_time(w), _sqlite_time(w))
                for c, t, w in data.conversations
            ],
        )
        db.executemany(
            "INSERT INTO messages (id, conversation_id, role, content, parts, status, user_id, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, '[]', 'complete', ?, ?, ?)",
            [
                (m.hex, c.hex, r, t, user.hex, _sqlite_time(w), _sqlite_time(w))
                for m, c, r, t, w in data.messages
            ],
        )


# --------------------------------------------------------------------------------------------
# The baseline: the service's two statements, by hand

VISIBLE = "d.project_id IN (SELECT project_id FROM project_members WHERE user_id = {user})"
TITLE = "CASE WHEN d.type = 'message' THEN c.title ELSE d.title END"
CONVERSATION = "LEFT JOIN conversations c ON c.id = d.parent_id AND d.type = 'message'"

PG_QUERY = "plainto_tsquery('english'::regconfig, $1)"
PG_MATCHES = f"FROM search_documents d WHERE d.tsv @@ {PG_QUERY} AND {VISIBLE.format(user='$2')}"
PG_PAGE = (
    f"SELECT d.id, d.row_id, ts_rank_cd(d.tsv, {PG_QUERY}) AS score, "
    f"(SELECT count(*) FROM (SELECT d.id {PG_MATCHES}) m) AS total {PG_MATCHES} "
    f"ORDER BY score DESC, d.id DESC LIMIT {PAGE + 1}"
)
PG_SNIPPETS = (
    f"SELECT d.id, {TITLE}, ts_headline('english'::regconfig, CASE WHEN "
    f"ts_filter(d.tsv, '{{d}}') @@ {PG_QUERY} THEN d.body ELSE d.title END, {PG_QUERY}, "
    f"'{pg_search.HEADLINE}') FROM search_documents d {CONVERSATION} WHERE d.id = ANY($2)"
)

FTS_FROM = "FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid"
SQLITE_MATCHES = f"{FTS_FROM} WHERE search_fts MATCH ? AND {VISIBLE.format(user='?')}"
SQLITE_PAGE = (
    "SELECT d.id, d.row_id, -bm25(search_fts, 10.0, 1.0) AS score, "
    f"(SELECT count(*) FROM (SELECT d.id {SQLITE_MATCHES})) AS total {SQLITE_MATCHES} "
    f"ORDER BY score DESC, d.id DESC LIMIT {PAGE + 1}"
)
SQLITE_SNIPPETS = (
    f"SELECT d.id, {TITLE}, snippet(search_fts, -1, '{MARK_START}', '{MARK_END}', '…', "
    f"{SNIPPET_WORDS}) {FTS_FROM} {CONVERSATION} "
    "WHERE search_fts MATCH ? AND search_fts.rowid IN ({ids})"
)


def pg_baseline(connection: asyncpg.Connection, user: uuid.UUID) -> Measure:
    async def run(q: str) -> tuple[list[str], int]:
        page = await connection.fetch(PG_PAGE, q, user)
        ids = [row["id"] for row in page[:PAGE]]
        if ids:
            await connection.fetch(PG_SNIPPETS, q, ids)
        return [str(row["row_id"]) for row in page[:PAGE]], page[0]["total"] if page else 0

    return run


def sqlite_baseline(db: sqlite3.Connection, user: uuid.UUID) -> Measure:
    async def run(q: str) -> tuple[list[str], int]:
        match = sqlite_search.words(q)
        page = db.execute(SQLITE_PAGE, (match, user.hex, match, user.hex)).fetchall()
        ids = [row[0] for row in page[:PAGE]]
        if ids:
            sql = SQLITE_SNIPPETS.format(ids=", ".join("?" * len(ids)))
            db.execute(sql, (match, *ids)).fetchall()
        return [str(uuid.UUID(row[1])) for row in page[:PAGE]], page[0][3] if page else 0

    return run


def orbiter(http: httpx.AsyncClient) -> Measure:
    async def run(q: str) -> tuple[list[str], int]:
        response = await http.get("/api/v1/search", params={"q": q, "limit": PAGE})
        if response.status_code != 200:
            raise RuntimeError(f"search {q!r}: {response.status_code} {response.text[:300]}")
        body = response.json()
        return [hit["id"] for hit in body["data"]], body["pagination"]["total"]

    return run


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Backend:
    name: str
    base_url: str
    cookie: str
    user: uuid.UUID
    baseline: Callable[[], contextlib.AbstractAsyncContextManager[Measure]]


async def check_same(name: str, api: Measure, direct: Measure, texts: list[str]) -> None:
    for q in texts:
        through_api, direct_answer = await api(q), await direct(q)
        if through_api != direct_answer:
            raise RuntimeError(f"{name}, {q!r}: Orbiter and the baseline disagree")
        info(f"{name}: {q!r} matches {direct_answer[1]:,} documents")


async def timed(measure: Measure, q: str) -> float:
    started = time.perf_counter()
    await measure(q)
    return (time.perf_counter() - started) * 1000


@dataclass
class Timings:
    """One backend's latencies in ms: per round the medians (Orbiter, direct); per query
    every request's (Orbiter, direct) pair."""

    rounds: list[tuple[float, float]]
    per_query: dict[str, list[tuple[float, float]]]


async def measure_backend(backend: Backend, texts: list[str], args: argparse.Namespace) -> Timings:
    cookies = {"orbiter_session": backend.cookie}
    timings = Timings([], {q: [] for q in texts})
    async with (
        httpx.AsyncClient(base_url=backend.base_url, cookies=cookies, timeout=60) as http,
        backend.baseline() as direct,
    ):
        api = orbiter(http)
        await check_same(backend.name, api, direct, texts)
        for number in range(1, args.rounds + 1):
            pairs = []
            for q in texts:
                for _ in range(args.requests):
                    pairs.append((await timed(api, q), await timed(direct, q)))
                    timings.per_query[q].append(pairs[-1])
            mid = _medians(pairs)
            info(f"{backend.name} round {number}: Orbiter {mid[0]:.1f} ms, direct {mid[1]:.1f} ms")
            timings.rounds.append(mid)
    return timings


def _medians(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    ours, theirs = zip(*pairs, strict=True)
    return statistics.median(ours), statistics.median(theirs)


# --------------------------------------------------------------------------------------------
# Set-up


def signed_in_user(base_url: str, email: str) -> tuple[str, uuid.UUID, uuid.UUID]:
    """(session cookie, user id, personal project id) of a new user."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        sign_in(http, email)
        me = http.get("/api/v1/auth/me").raise_for_status().json()
        projects = http.get("/api/v1/projects").raise_for_status().json()["data"]
        cookie = http.cookies.get("orbiter_session")
    if not cookie:
        raise services.SetupError("login did not set the orbiter_session cookie")
    personal = next(p["id"] for p in projects if p["is_personal"])
    return cookie, uuid.UUID(me["id"]), uuid.UUID(personal)


def postgres_backend(stack: contextlib.ExitStack, data: Rows) -> Backend:
    env = orbiter_env(stack)
    workdir = services.make_temp_dir(stack, "orbiter-bench-search-pg-")
    base_url, _ = serve_orbiter(stack, env, workdir=workdir)
    cookie, user, project = signed_in_user(base_url, "search-pg@example.com")
    started = time.monotonic()
    database_url = env["ORBITER_DATABASE_URL"]
    asyncio.run(insert_pg(database_url, user, project, data))
    info(f"PostgreSQL: {len(data.messages):,} messages in {time.monotonic() - started:.1f} s")

    @contextlib.asynccontextmanager
    async def baseline() -> Any:
        connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        try:
            yield pg_baseline(connection, user)
        finally:
            await connection.close()

    return Backend("PostgreSQL", base_url, cookie, user, baseline)


def sqlite_backend(stack: contextlib.ExitStack, data: Rows) -> Backend:
    env = embedded_env(stack, "orbiter-bench-search-data-")
    workdir = services.make_temp_dir(stack, "orbiter-bench-search-sqlite-")
    base_url, _ = serve_orbiter(stack, env, workdir=workdir)
    cookie, user, project = signed_in_user(base_url, "search-sqlite@example.com")
    path = Path(env["ORBITER_DATA_DIR"]) / "orbiter.db"
    started = time.monotonic()
    insert_sqlite(path, user, project, data)
    info(f"SQLite: {len(data.messages):,} messages in {time.monotonic() - started:.1f} s")

    @contextlib.asynccontextmanager
    async def baseline() -> Any:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            yield sqlite_baseline(db, user)

    return Backend("SQLite", base_url, cookie, user, baseline)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stop_servers_on_signals()
    rng = random.Random(13)
    words = vocabulary(rng)
    data = rows(messages(args.messages, words, rng))
    texts = queries(words)
    results: dict[str, Timings] = {}
    try:
        with contextlib.ExitStack() as stack:
            backends = [postgres_backend(stack, data), sqlite_backend(stack, data)]
            for backend in backends:
                results[backend.name] = asyncio.run(measure_backend(backend, texts, args))
    except services.MissingDependency as exc:
        print(f"[bench] {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, httpx.HTTPError, services.SetupError) as exc:
        print(f"[bench] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    return 0 if report(results, args) else 1


def report(results: dict[str, Timings], args: argparse.Namespace) -> bool:
    print()
    print(
        f"search over {args.messages:,} messages, median latency, median of {args.rounds} rounds:"
    )
    ok = True
    for name, timings in results.items():
        ours, theirs = (statistics.median(column) for column in zip(*timings.rounds, strict=True))
        ok &= ours < TARGET_MS
        print(
            f"  {name:<11} Orbiter {ours:7.1f} ms   direct {theirs:7.1f} ms   "
            f"ratio {ours / theirs:4.2f}x   (target < {TARGET_MS:.0f} ms)"
        )
        for q, pairs in timings.per_query.items():
            mine, direct = _medians(pairs)
            print(f"      {q!r:<17} Orbiter {mine:7.1f} ms   direct {direct:7.1f} ms")
    print(f"target: {'met' if ok else 'MISSED'}")
    return ok


if __name__ == "__main__":
    sys.exit(main())
