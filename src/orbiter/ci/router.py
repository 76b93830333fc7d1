"""/api/v1/ci: routes for CI jobs, API keys only."""

from __future__ import annotations

from fastapi import APIRouter

from orbiter.auth.dependencies import ApiKeyPrincipal
from orbiter.ci import service
from orbiter.ci.schemas import WhoAmI
from orbiter.core.deps import DbSession

router = APIRouter(prefix="/ci", tags=["ci"])


@router.get("/whoami", response_model=WhoAmI)
async def whoami(principal: ApiKeyPrincipal, db: DbSession) -> WhoAmI:
    """The key's user, name and scopes: a cheap check that CI is configured right."""
    return await service.whoami(db, principal)
