"""What CI jobs ask about their own credentials."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.auth.principal import Principal
from orbiter.ci.schemas import WhoAmI, WhoAmIKey, WhoAmIUser
from orbiter.core.errors import Unauthorized
from orbiter.models import ApiKey, User


async def whoami(db: AsyncSession, principal: Principal) -> WhoAmI:
    user = await db.get(User, principal.user_id)
    api_key = await db.get(ApiKey, principal.credential_id)
    if user is None or api_key is None:  # revoked while this request was in flight
        raise Unauthorized("Invalid API key")
    return WhoAmI(
        user=WhoAmIUser(id=user.id, email=user.email, name=user.name),
        key=WhoAmIKey(
            id=api_key.id, name=api_key.name, prefix=api_key.prefix, scopes=api_key.scopes
        ),
    )
