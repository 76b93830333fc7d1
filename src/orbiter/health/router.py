"""GET /health: the database (at the newest migration), Redis when configured, and the blob
store, each with its latency; 200 when all answer, else 503 naming what failed. No auth."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from orbiter.core.time import utcnow
from orbiter.health.checks import CheckResult, run_checks
from orbiter.runtime.deps import ResourcesDep

router = APIRouter(tags=["health"])


class Check(BaseModel):
    status: Literal["ok", "failed"]
    latency_ms: float
    error: str | None = None

    @classmethod
    def of(cls, result: CheckResult) -> Check:
        status: Literal["ok", "failed"] = "ok" if result.ok else "failed"
        return cls(status=status, latency_ms=result.latency_ms, error=result.error)


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    timestamp: datetime
    checks: dict[str, Check]  # database, blob_store, and redis when configured


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health}},
    summary="Check the service's health",
)
async def check_health(resources: ResourcesDep) -> JSONResponse:
    kv = resources.kv if resources.settings.redis_url else None
    results = await run_checks(resources.engine, kv, resources.blobs)
    body = Health(
        status="ok" if all(r.ok for r in results.values()) else "degraded",
        timestamp=utcnow(),
        checks={name: Check.of(result) for name, result in results.items()},
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=200 if body.status == "ok" else 503
    )
