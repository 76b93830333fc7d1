"""/api/v1/ci: routes for CI jobs, API keys only."""

from __future__ import annotations

from fastapi import APIRouter

from orbiter.auth.dependencies import ApiKeyPrincipal
from orbiter.ci.schemas import WhoAmI, WhoAmIKey, WhoAmIUser
from orbiter.core.deps import DbSession
from orbiter.core.errors import Unauthorized
from orbiter.models import ApiKey, User

router = APIRouter(prefix="/ci", tags=["ci"])


@router.get("/whoami", response_model=WhoAmI)
async def whoami(principal: ApiKeyPrincipal, db: DbSession) -> WhoAmI:
    """The key's user, name and scopes: a cheap check that CI is configured right."""
    user = await db.get(User, principal.user_id)
    api_key = await db.get(ApiKey, principal.credential_id)
    if user is None or api_key is None:
        raise Unauthorized("Invalid API key")
    return WhoAmI(
        user=WhoAmIUser(id=user.id, email=user.email, name=user.name),
        key=WhoAmIKey(
            id=api_key.id, name=api_key.name, prefix=api_key.prefix, scopes=api_key.scopes
        ),
    )
