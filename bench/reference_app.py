"""The baseline of bench/http_overhead.py: the I/O of `GET /api/v1/projects`, and nothing else.

A minimal FastAPI app that does directly, on raw asyncpg and redis, what Orbiter's route has
to do: read the cookie's session from Redis, count the request with one rate-limit script
call, and run the page query (with the total on the first page; later pages carry it in the
signed cursor). It answers the same JSON bytes as Orbiter, which the bench checks before it
measures. Configured by REFERENCE_DATABASE_URL (postgresql://...), REFERENCE_REDIS_URL,
REFERENCE_POOL_SIZE and ORBITER_SECRET_KEY (the same secret as the Orbiter it is compared to).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from fastapi import FastAPI, Request, Response
from itsdangerous import BadSignature, Signer

from orbiter.core.ratelimit import WINDOW_SCRIPT

SECRET = os.environ["ORBITER_SECRET_KEY"]
SESSIONS = Signer(SECRET, salt="orbiter.session")
CURSORS = Signer(SECRET, salt="orbiter.cursor")
LIMIT_PER_MINUTE = 1_000_000_000  # counted, never reached: the bench measures, never refuses

SELECT = "SELECT p.id, p.name, p.description, p.is_personal, m.role, p.created_at, p.updated_at"
JOIN = "FROM projects p JOIN project_members m ON m.project_id = p.id AND m.user_id = $1"
ORDER = "ORDER BY p.updated_at DESC, p.id DESC LIMIT $2"
TOTAL = "(SELECT count(*) FROM project_members WHERE user_id = $1) AS total"
FIRST_PAGE = f"{SELECT}, {TOTAL} {JOIN} {ORDER}"
NEXT_PAGE = f"{SELECT} {JOIN} WHERE (p.updated_at, p.id) < ($3, $4) {ORDER}"


async def keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset on release: no request changes session state. (asyncpg's default
    reset query would cost a round trip per request that Orbiter's pool does not make.)"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get("REFERENCE_POOL_SIZE", "20"))
    app.state.db = await asyncpg.create_pool(
        os.environ["REFERENCE_DATABASE_URL"],
        min_size=size,
        max_size=size,
        server_settings={"plan_cache_mode": "force_custom_plan"},
        reset=keep_session,
    )
    app.state.redis = aioredis.Redis.from_url(os.environ["REFERENCE_REDIS_URL"])
    app.state.hit = app.state.redis.register_script(WINDOW_SCRIPT)
    yield
    await app.state.db.close()
    await app.state.redis.aclose()


app = FastAPI(lifespan=lifespan)


def error(status: int, code: str) -> Response:
    body = {"error": {"code": code, "message": code, "details": None}}
    return Response(json.dumps(body), status, media_type="application/json")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def encode_cursor(updated_at: datetime, project_id: uuid.UUID, total: int) -> str:
    after = [{"dt": updated_at.isoformat()}, {"uuid": str(project_id)}]
    raw = json.dumps({"after": after, "total": total}, separators=(",", ":")).encode()
    return CURSORS.sign(base64.urlsafe_b64encode(raw).rstrip(b"=")).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID, int]:
    raw = CURSORS.unsign(cursor.encode())
    payload = json.loads(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
    updated_at, project_id = payload["after"]
    return (
        datetime.fromisoformat(updated_at["dt"]),
        uuid.UUID(project_id["uuid"]),
        payload["total"],
    )


async def session_user(request: Request) -> str | None:
    try:
        raw_id = SESSIONS.unsign(request.cookies.get("orbiter_session", "")).decode()
    except BadSignature:
        return None
    public_id = uuid.UUID(bytes=hashlib.sha256(raw_id.encode()).digest()[:16])
    data = await request.app.state.redis.get(f"orbiter:session:{public_id}")
    if data is None:
        return None
    session = json.loads(data)
    if datetime.fromisoformat(session["expires_at"]) <= datetime.now(UTC):
        return None
    return str(session["user_id"])


@app.get("/api/v1/projects")
async def list_projects(request: Request, limit: int = 20, cursor: str | None = None) -> Response:
    user_id = await session_user(request)
    if user_id is None:
        return error(401, "UNAUTHORIZED")
    count, ttl_ms = await request.app.state.hit(
        keys=[f"bench-reference:general:user:{user_id}"], args=[60, 1]
    )
    limit = max(1, min(limit, 100))
    db: asyncpg.Pool = request.app.state.db
    if cursor:
        updated_at, project_id, total = decode_cursor(cursor)
        rows = await db.fetch(NEXT_PAGE, uuid.UUID(user_id), limit + 1, updated_at, project_id)
    else:
        rows = await db.fetch(FIRST_PAGE, uuid.UUID(user_id), limit + 1)
        total = rows[0]["total"] if rows else 0
    has_more = len(rows) > limit
    rows = rows[:limit]
    data: list[dict[str, Any]] = [
        {
            "id": str(row["id"]),
            "name": row["name"],
            "description": row["description"],
            "is_personal": row["is_personal"],
            "role": row["role"],
            "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
        }
        for row in rows
    ]
    next_cursor = encode_cursor(rows[-1]["updated_at"], rows[-1]["id"], total) if has_more else None
    body = {
        "data": data,
        "pagination": {"next_cursor": next_cursor, "has_more": has_more, "total": total},
    }
    headers = {
        "RateLimit-Limit": str(LIMIT_PER_MINUTE),
        "RateLimit-Remaining": str(max(0, LIMIT_PER_MINUTE - count)),
        "RateLimit-Reset": str(-(-ttl_ms // 1000)),
    }
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content, media_type="application/json", headers=headers)
