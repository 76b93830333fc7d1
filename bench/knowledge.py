#!/usr/bin/env python3
"""Knowledge bases: indexing 2,000 Markdown pages, and querying 100,000 chunks by text and by
vectors (384 dimensions), next to the same work done directly; says which vector path ran.

    python bench/knowledge.py [--backend embedded|postgres|both] [--pages 2000]
                              [--chunks 100000] [--requests 10] [--rounds 3]

Serves Orbiter on its embedded SQLite (and, with `--backend postgres|both`, on PostgreSQL +
Redis started by the helpers of scripts/run_tests.py, with an `orbiter worker` beside it).

Indexing: `--pages` Markdown pages (about 10 kB each, generated from a fixed seed) are uploaded
to a new knowledge base (8 at a time) with no embedding model; the time runs until the
knowledge base is `ready`. Baseline, in this process: the same extraction and chunking
functions on the same pages, the chunks inserted into an SQLite FTS5 table.
Querying: `--chunks` chunks (100 per document, 60 words each from a Zipf vocabulary) with
unit 384-long vectors are inserted straight into the database; the user's provider points at
an embeddings server in this process (a vector drawn from the text's CRC-32). Text queries are
words of several frequencies; vector queries are punctuation only, so the vectors alone answer
(`method` is `vector`). Baseline: the same statements (`knowledge.fulltext`, `knowledge.search`)
on a plain connection, the query embedded by the same server, then the path Orbiter takes
(`knowledge.pgvector.available`): on PostgreSQL with pgvector the same exact scan statement
(`knowledge.pgvector`), else the same numpy scan over the vectors read once (as Orbiter keeps
them per process, `knowledge.vector_cache`). `ORBITER_KNOWLEDGE_PGVECTOR=false` in the
environment measures the numpy path on PostgreSQL too.

Before measuring, Orbiter's results are checked to be the baseline's (chunk ids in order).
Rounds are interleaved request by request; reported: each round's median, then the median of
the rounds. Targets: indexing at least 50 pages/s, text p50 under 50 ms, vector p50 under
100 ms. Any error response, failed document or disagreement fails the run.
Exit status: 0 when the targets are met, 1 when one is missed or a check failed, 2 when a
server binary is missing, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pydantic import TypeAdapter
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_tests as services  # type: ignore[import-not-found]  # noqa: E402
from http_overhead import (  # type: ignore[import-not-found]  # noqa: E402
    VENV_BIN,
    embedded_env,
    info,
    orbiter_env,
    serve_orbiter,
    sign_in,
    start_process,
    stop_servers_on_signals,
)

from orbiter.knowledge import fulltext, pgvector  # noqa: E402
from orbiter.knowledge.chunking import split  # noqa: E402
from orbiter.knowledge.embeddings import from_bytes, normalized, to_bytes  # noqa: E402
from orbiter.knowledge.extract import extract_text  # noqa: E402
from orbiter.knowledge.search import CHUNKS  # noqa: E402
from orbiter.knowledge.vector_cache import VECTORS  # noqa: E402
from orbiter.models import Document, KnowledgeChunk  # noqa: E402

TARGET_PAGES_PER_SECOND = 50.0
TARGET_TEXT_MS = 50.0
TARGET_VECTOR_MS = 100.0
DIMENSIONS = 384
MODEL = "bench-embed-384"
TOP_K = 5
CANDIDATES = 50  # what the search asks each ranking for at top_k 5
CHUNK_SIZE, CHUNK_OVERLAP = 512, 64  # the knowledge base defaults
PER_DOCUMENT = 100
WORDS_PER_CHUNK = 60
UPLOADS_AT_ONCE = 8
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
TEXT_QUERIES = (10, 300, 3000)  # Zipf ranks of the one-word queries; plus one of two words
VECTORS_Q = ("?", "!!", "...", "?!", "--")  # no word: the vectors alone answer

Measure = Callable[[str], Awaitable[list[int]]]


# --------------------------------------------------------------------------------------------
# The corpus


def vocabulary(rng: random.Random, size: int = 5_000) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(SYLLABLES) for _ in range(3))] = None
    return list(words)


def zipf(rng: random.Random, words: list[str], count: int) -> list[str]:
    return rng.choices(words, cum_weights=_cumulative(len(words)), k=count)


@functools.cache
def _cumulative(size: int) -> list[float]:
    return list(itertools.accumulate(1 / rank for rank in range(1, size + 1)))


def pages(count: int, words: list[str]) -> list[bytes]:
    """Markdown pages of about 10 kB: a title, sections, paragraphs of sentences."""
    rng = random.Random(14)
    out = []
    for n in range(count):
        parts = [f"# Page {n}: {' '.join(zipf(rng, words, 3))}\n"]
        for section in range(8):
            parts.append(f"\n## Section {section}\n")
            for _ in range(3):
                sentences = [" ".join(zipf(rng, words, 12)).capitalize() + "." for _ in range(5)]
                parts.append("\n" + " ".join(sentences) + "\n")
        out.append("".join(parts).encode())
    return out


def vector_of(body: str) -> list[float]:
    rng = np.random.default_rng(zlib.crc32(body.encode()))
    return [float(x) for x in rng.standard_normal(DIMENSIONS)]


# --------------------------------------------------------------------------------------------
# An OpenAI-compatible /embeddings on loopback


class Embeddings(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        data = [
            {"object": "embedding", "index": i, "embedding": vector_of(str(t))}
            for i, t in enumerate(body["input"])
        ]
        answer = json.dumps(
            {"object": "list", "model": body["model"], "data": data, "usage": {}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def embeddings_server(stack: contextlib.ExitStack) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Embeddings)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


# --------------------------------------------------------------------------------------------
# A backend


@dataclass
class Backend:
    name: str
    base_url: str
    key: str  # an API key
    user: uuid.UUID
    project: uuid.UUID
    database_url: str
    indexing: list[tuple[float, float]] = field(default_factory=list)  # pages/s, ours/direct
    text: list[tuple[float, float]] = field(default_factory=list)  # ms per round
    vector: list[tuple[float, float]] = field(default_factory=list)
    vector_path: str = "numpy"  # or "pgvector": which one Orbiter's vector search took

    def client(self) -> httpx.AsyncClient:
        headers = {"X-API-Key": self.key}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=120)


def ok(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else None


async def new_kb(http: httpx.AsyncClient, name: str) -> str:
    body = {"name": name, "project_id": None}
    created = ok(await http.post("/api/v1/knowledge-bases", json=body), "create knowledge base")
    return str(created["id"])


# --------------------------------------------------------------------------------------------
# Indexing


async def index_through_orbiter(backend: Backend, corpus: list[bytes], number: int) -> float:
    async with backend.client() as http:
        kb = await new_kb(http, f"Pages {number}")
        gate = asyncio.Semaphore(UPLOADS_AT_ONCE)

        async def send(n: int, page: bytes) -> None:
            async with gate:
                files = {"file": (f"page-{n}.md", page, "text/markdown")}
                sent = await http.post(f"/api/v1/knowledge-bases/{kb}/documents", files=files)
                ok(sent, f"upload page {n}")

        started = time.perf_counter()
        await asyncio.gather(*(send(n, page) for n, page in enumerate(corpus)))
        while True:
            state = ok(await http.get(f"/api/v1/knowledge-bases/{kb}"), "read knowledge base")
            if state["status"] == "ready":
                break
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
        if state["documents"].get("failed"):
            raise RuntimeError(f"{state['documents']['failed']} pages failed to index")
    return len(corpus) / elapsed


def index_directly(corpus: list[bytes], workdir: Path, number: int) -> float:
    path = workdir / f"direct-{number}.db"
    started = time.perf_counter()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE VIRTUAL TABLE chunks USING fts5(text)")
        for page in corpus:
            body = extract_text("md", page)
            pieces = split(body, file_type="md", chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
            db.executemany("INSERT INTO chunks (text) VALUES (?)", [(p,) for p in pieces])
    elapsed = time.perf_counter() - started
    path.unlink()
    return len(corpus) / elapsed


# --------------------------------------------------------------------------------------------
# Querying


async def insert_chunks(backend: Backend, kb: str, count: int, words: list[str]) -> None:
    rng = random.Random(15)
    vectors = np.random.default_rng(15)
    engine = create_async_engine(backend.database_url)
    kb_id = uuid.UUID(kb)
    try:
        for first in range(0, count, PER_DOCUMENT * 10):
            documents, chunks = [], []
            for d in range(first // PER_DOCUMENT, (first + PER_DOCUMENT * 10) // PER_DOCUMENT):
                document_id = uuid.uuid4()
                documents.append(document_row(backend, kb_id, document_id, d))
                batch = normalized(vectors.standard_normal((PER_DOCUMENT, DIMENSIONS)))
                for position in range(PER_DOCUMENT):
                    body = " ".join(zipf(rng, words, WORDS_PER_CHUNK))
                    chunks.append(
                        {
                            "document_id": document_id,
                            "knowledge_base_id": kb_id,
                            "position": position,
                            "text": body,
                            "embedding": to_bytes(batch[position]),
                            "embedding_model": MODEL,
                            "embedding_dimensions": DIMENSIONS,
                        }
                    )
            async with engine.begin() as conn:
                await conn.execute(insert(Document), documents)
                await conn.execute(insert(KnowledgeChunk), chunks)
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def document_row(backend: Backend, kb_id: uuid.UUID, document_id: uuid.UUID, n: int) -> Any:
    return {
        "id": document_id,
        "knowledge_base_id": kb_id,
        "project_id": backend.project,
        "created_by": backend.user,
        "name": f"doc-{n}.md",
        "file_type": "md",
        "content_type": "text/markdown",
        "size": 1,
        "content_hash": uuid.uuid4().hex * 2,
        "status": "ready",
        "chunks_total": PER_DOCUMENT,
        "chunks_done": PER_DOCUMENT,
        "embedding_model": MODEL,
        "attempts": 1,
    }


def through_orbiter(http: httpx.AsyncClient, kb: str, method: str) -> Measure:
    async def run(q: str) -> list[int]:
        body = {"query": q, "top_k": TOP_K}
        found = ok(await http.post(f"/api/v1/knowledge-bases/{kb}/query", json=body), "query")
        if found["method"] != method:
            raise RuntimeError(f"{q!r} answered by {found['method']}, not {method}")
        return [hit["chunk_id"] for hit in found["results"]]

    return run


def text_directly(conn: AsyncConnection, kb: str) -> Measure:
    async def run(q: str) -> list[int]:
        ranked = await fulltext.rank(conn, q, [uuid.UUID(kb)], CANDIDATES)
        ids = [chunk_id for chunk_id, _ in ranked[:TOP_K]]
        return await _read(conn, ids)

    return run


async def embedded(embed_url: str, q: str) -> Any:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{embed_url}/embeddings", json={"model": MODEL, "input": [q]})
    return normalized(np.asarray([answer.json()["data"][0]["embedding"]], np.float32))[0]


async def vector_directly(conn: AsyncConnection, kb: str, embed_url: str, path: str) -> Measure:
    return await (numpy_directly if path == "numpy" else pgvector_directly)(conn, kb, embed_url)


async def pgvector_directly(conn: AsyncConnection, kb: str, embed_url: str) -> Measure:
    """Per query: embed it, pgvector's exact scan (the same statement), the top chunks read."""

    async def run(q: str) -> list[int]:
        vector = await embedded(embed_url, q)
        ranked = await pgvector.rank(conn, [uuid.UUID(kb)], MODEL, vector, TOP_K)
        return await _read(conn, [chunk_id for chunk_id, _ in ranked])

    return run


async def numpy_directly(conn: AsyncConnection, kb: str, embed_url: str) -> Measure:
    """The vectors read once (the same statement), kept as one matrix; per query: embed it,
    one matrix product, a full stable sort, the top chunks read."""
    params = {"kb_ids": [uuid.UUID(kb)], "model": MODEL, "dimensions": DIMENSIONS}
    rows = (await conn.execute(VECTORS, params)).all()
    ids = [int(row[0]) for row in rows]
    matrix = from_bytes([row[1] for row in rows], DIMENSIONS)

    async def run(q: str) -> list[int]:
        query = await embedded(embed_url, q)
        scores = matrix @ query
        best = np.argsort(-scores, kind="stable")[:TOP_K]
        return await _read(conn, [ids[i] for i in best])

    return run


async def _read(conn: AsyncConnection, ids: list[int]) -> list[int]:
    if not ids:
        return []
    found = {row[0]: row for row in await conn.execute(CHUNKS, {"ids": ids})}
    return [chunk_id for chunk_id in ids if chunk_id in found]


async def timed(measure: Measure, q: str) -> float:
    started = time.perf_counter()
    await measure(q)
    return (time.perf_counter() - started) * 1000


async def measure_queries(
    pairs: list[tuple[str, Measure, Measure]], requests: int
) -> tuple[float, float]:
    """One round: each query `requests` times through Orbiter and directly, interleaved."""
    ours, theirs = [], []
    for q, api, direct in pairs:
        for _ in range(requests):
            ours.append(await timed(api, q))
            theirs.append(await timed(direct, q))
    return statistics.median(ours), statistics.median(theirs)


async def check_same(name: str, pairs: list[tuple[str, Measure, Measure]]) -> None:
    for q, api, direct in pairs:
        mine, baseline = await api(q), await direct(q)
        if mine != baseline or not mine:
            raise RuntimeError(f"{name}, {q!r}: Orbiter {mine} but directly {baseline}")


async def run_backend(backend: Backend, args: argparse.Namespace, workdir: Path) -> None:
    words = vocabulary(random.Random(13))
    corpus = pages(args.pages, words)
    megabytes = sum(map(len, corpus)) / 1e6
    info(f"{backend.name}: {args.pages:,} pages, {megabytes:.1f} MB")
    for number in range(1, args.rounds + 1):
        ours = await index_through_orbiter(backend, corpus, number)
        direct = await asyncio.to_thread(index_directly, corpus, workdir, number)
        info(f"{backend.name} indexing round {number}: {ours:.1f} pages/s, direct {direct:.1f}")
        backend.indexing.append((ours, direct))
    async with backend.client() as http:
        kb = await new_kb(http, "Chunks")
        started = time.monotonic()
        await insert_chunks(backend, kb, args.chunks, words)
        info(f"{backend.name}: {args.chunks:,} chunks in {time.monotonic() - started:.1f} s")
        engine = create_async_engine(backend.database_url)
        if pgvector_on() and await pgvector.available(engine):  # as Orbiter's search decides
            backend.vector_path = "pgvector"
        try:
            async with engine.connect() as conn:
                texts = [words[rank - 1] for rank in TEXT_QUERIES] + [f"{words[20]} {words[90]}"]
                by_text = [
                    (q, through_orbiter(http, kb, "text"), text_directly(conn, kb)) for q in texts
                ]
                await check_same(f"{backend.name} text", by_text)
                for _ in range(args.rounds):
                    backend.text.append(await measure_queries(by_text, args.requests))
                    info(f"{backend.name} text round: {_pair(backend.text[-1])}")
                await add_provider(http, args.embed_url)
                direct = await vector_directly(conn, kb, args.embed_url, backend.vector_path)
                by_vector = [(q, through_orbiter(http, kb, "vector"), direct) for q in VECTORS_Q]
                await check_same(f"{backend.name} vector", by_vector)
                for _ in range(args.rounds):
                    backend.vector.append(await measure_queries(by_vector, args.requests))
                    info(f"{backend.name} vector round: {_pair(backend.vector[-1])}")
        finally:
            await engine.dispose()


def pgvector_on() -> bool:
    """`ORBITER_KNOWLEDGE_PGVECTOR` as the Orbiter this bench starts reads it (default on)."""
    return TypeAdapter(bool).validate_python(os.environ.get("ORBITER_KNOWLEDGE_PGVECTOR", "true"))


def _pair(pair: tuple[float, float]) -> str:
    return f"Orbiter {pair[0]:.1f} ms, direct {pair[1]:.1f} ms"


async def add_provider(http: httpx.AsyncClient, embed_url: str) -> None:
    provider = {
        "name": "Bench embeddings",
        "type": "openai_compatible",
        "base_url": embed_url,
        "api_key": "sk-bench-not-a-real-key",
        "models": ["none"],
        "embedding_model": MODEL,
        "embedding_dimensions": DIMENSIONS,
        "is_default": True,
    }
    ok(await http.post("/api/v1/providers", json=provider), "add provider")


# --------------------------------------------------------------------------------------------
# Set-up and report


def signed_in_user(base_url: str, email: str) -> tuple[str, uuid.UUID, uuid.UUID]:
    """(API key, user id, personal project id) of a new user."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        csrf = sign_in(http, email)
        key = ok(http.post("/api/v1/api-keys", json={"name": "bench"}, headers=csrf), "key")
        me = ok(http.get("/api/v1/auth/me"), "me")
        projects = ok(http.get("/api/v1/projects"), "projects")["data"]
    personal = next(p["id"] for p in projects if p["is_personal"])
    return str(key["key"]), uuid.UUID(me["id"]), uuid.UUID(personal)


def sqlite_backend(stack: contextlib.ExitStack) -> Backend:
    env = embedded_env(stack, "orbiter-bench-knowledge-data-", ORBITER_ALLOW_PRIVATE_URLS="true")
    workdir = services.make_temp_dir(stack, "orbiter-bench-knowledge-sqlite-")
    base_url, _ = serve_orbiter(stack, env, workdir=workdir)
    key, user, project = signed_in_user(base_url, "knowledge-sqlite@example.com")
    url = f"sqlite+aiosqlite:///{Path(env['ORBITER_DATA_DIR']) / 'orbiter.db'}"
    return Backend("SQLite", base_url, key, user, project, url)


def postgres_backend(stack: contextlib.ExitStack) -> Backend:
    env = orbiter_env(stack) | {"ORBITER_ALLOW_PRIVATE_URLS": "true"}
    workdir = services.make_temp_dir(stack, "orbiter-bench-knowledge-pg-")
    base_url, _ = serve_orbiter(stack, env, workdir=workdir)
    start_process(stack, "worker", [str(VENV_BIN / "orbiter"), "worker"], env, workdir)
    key, user, project = signed_in_user(base_url, "knowledge-pg@example.com")
    return Backend("PostgreSQL", base_url, key, user, project, env["ORBITER_DATABASE_URL"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("embedded", "postgres", "both"), default="both")
    parser.add_argument("--pages", type=int, default=2_000)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stop_servers_on_signals()
    done: list[Backend] = []
    try:
        with contextlib.ExitStack() as stack:
            args.embed_url = embeddings_server(stack)
            workdir = services.make_temp_dir(stack, "orbiter-bench-knowledge-")
            makers = {"embedded": [sqlite_backend], "postgres": [postgres_backend]}
            for make in makers.get(args.backend, [sqlite_backend, postgres_backend]):
                backend = make(stack)
                asyncio.run(run_backend(backend, args, workdir))
                done.append(backend)
    except services.MissingDependency as exc:
        print(f"[bench] {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, httpx.HTTPError, services.SetupError) as exc:
        print(f"[bench] FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n[bench] interrupted; servers stopped", file=sys.stderr)
        return 130
    return 0 if report(done, args) else 1


def _median(rounds: list[tuple[float, float]]) -> tuple[float, float]:
    ours, theirs = zip(*rounds, strict=True)
    return statistics.median(ours), statistics.median(theirs)


def report(done: list[Backend], args: argparse.Namespace) -> bool:
    print(f"\nknowledge, median of {args.rounds} rounds:")
    met = True
    for b in done:
        (pages_ours, pages_direct), (text_ours, text_direct), (vec_ours, vec_direct) = (
            _median(b.indexing),
            _median(b.text),
            _median(b.vector),
        )
        met &= pages_ours >= TARGET_PAGES_PER_SECOND
        met &= text_ours < TARGET_TEXT_MS and vec_ours < TARGET_VECTOR_MS
        print(
            f"  {b.name:<11} indexing {args.pages:,} pages: {pages_ours:6.1f} pages/s "
            f"(direct {pages_direct:6.1f}; target >= {TARGET_PAGES_PER_SECOND:.0f})\n"
            f"  {'':<11} text query p50 over {args.chunks:,} chunks: {text_ours:6.1f} ms "
            f"(direct {text_direct:6.1f}; target < {TARGET_TEXT_MS:.0f})\n"
            f"  {'':<11} vector query p50 ({DIMENSIONS} dims, {b.vector_path}): {vec_ours:6.1f} ms "
            f"(direct {vec_direct:6.1f}; target < {TARGET_VECTOR_MS:.0f})"
        )
    print(f"targets: {'met' if met else 'MISSED'}")
    return met


if __name__ == "__main__":
    sys.exit(main())
