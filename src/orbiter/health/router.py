"""GET /health: liveness plus a database round trip, without auth."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from orbiter.core.time import utcnow
from orbiter.runtime.deps import ResourcesDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    timestamp: datetime
    database: Literal["ok", "unreachable"]


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(resources: ResourcesDep) -> JSONResponse:
    try:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        body = Health(status="ok", timestamp=utcnow(), database="ok")
    except Exception:  # any failure to reach the database means degraded, never a 500
        body = Health(status="degraded", timestamp=utcnow(), database="unreachable")
    return JSONResponse(
        body.model_dump(mode="json"), status_code=200 if body.status == "ok" else 503
    )
