"""Turn the credentials on a request into a `Principal` (or an `AuthFailure`)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.datastructures import Headers

from orbiter.auth.browser_sessions import COOKIE_NAME, session_store
from orbiter.auth.principal import (
    DEFAULT_API_KEY_SCOPES,
    DEPLOYMENT_KEY_PREFIX,
    AuthFailure,
    Principal,
)
from orbiter.core.security import hash_secret
from orbiter.core.time import utcnow
from orbiter.models import AccessToken, ApiKey, User
from orbiter.runtime.resources import Resources

LAST_USED_PRECISION = timedelta(seconds=60)
Outcome = Principal | AuthFailure | None
Credential = TypeVar("Credential", ApiKey, AccessToken)
_NAMES: dict[type[ApiKey] | type[AccessToken], str] = {ApiKey: "API key", AccessToken: "token"}
_DEFAULT_SCOPES = frozenset(DEFAULT_API_KEY_SCOPES)
DEPLOYMENT_KEY_ELSEWHERE = AuthFailure(
    "A deployment key is accepted only by its deployment's POST /api/v1/deployments/{id}/invoke"
)


async def resolve_principal(
    headers: Headers, cookies: dict[str, str], resources: Resources
) -> Outcome:
    # A header that is present but empty is a failed credential, never "no credential".
    if (api_key := headers.get("x-api-key")) is not None:
        if api_key.startswith(DEPLOYMENT_KEY_PREFIX):
            return DEPLOYMENT_KEY_ELSEWHERE
        return await _from_api_key(api_key, resources)
    if (authorization := headers.get("authorization")) is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return AuthFailure("Unsupported Authorization header; use 'Bearer <token>'")
        return await _from_bearer(token.strip(), resources)
    if cookie := cookies.get(COOKIE_NAME):
        return await _from_cookie(cookie, resources)
    return None


async def _from_api_key(key: str, resources: Resources) -> Outcome:
    async with resources.sessionmaker() as db:
        found = await _machine_credential(db, ApiKey, ApiKey.key_hash, key)
        if isinstance(found, AuthFailure):
            return found
        api_key, user = found
        return Principal(
            user_id=user.id,
            email=user.email,
            plan=user.plan,
            method="api_key",
            credential_id=api_key.id,
            scopes=frozenset(api_key.scopes),
        )


async def _from_bearer(token: str, resources: Resources) -> Outcome:
    async with resources.sessionmaker() as db:
        found = await _machine_credential(db, AccessToken, AccessToken.token_hash, token)
        if isinstance(found, AuthFailure):
            return found
        access_token, user = found
        return Principal(
            user_id=user.id,
            email=user.email,
            plan=user.plan,
            method="bearer",
            credential_id=access_token.id,
            scopes=_DEFAULT_SCOPES,
        )


async def _machine_credential(
    db: AsyncSession,
    model: type[Credential],
    hash_column: InstrumentedAttribute[str],
    secret: str,
) -> tuple[Credential, User] | AuthFailure:
    """A live API key or bearer token and its user; `last_used_at` kept to the minute."""
    row = (
        await db.execute(
            select(model, User)
            .join(User, User.id == model.user_id)
            .where(hash_column == hash_secret(secret))
        )
    ).first()
    if row is None:
        return AuthFailure(f"Invalid or revoked {_NAMES[model]}")
    credential, user = row
    now = utcnow()
    if credential.expires_at is not None and credential.expires_at <= now:
        return AuthFailure(f"{_NAMES[model].capitalize()} expired")
    if credential.last_used_at is None or now - credential.last_used_at >= LAST_USED_PRECISION:
        await db.execute(update(model).where(model.id == credential.id).values(last_used_at=now))
        await db.commit()
    return credential, user


async def _from_cookie(cookie: str, resources: Resources) -> Outcome:
    store = session_store(resources)
    session = await store.load(cookie)
    if session is None:
        return AuthFailure("Session expired or signed out")
    if store.due_for_touch(session):
        async with resources.sessionmaker() as db:
            user = await db.get(User, uuid.UUID(session.user_id))
        if user is None:
            await store.destroy(session)
            return AuthFailure("Session expired or signed out")
        await store.touch(session, email=user.email, plan=user.plan)
    return Principal(
        user_id=uuid.UUID(session.user_id),
        email=session.email,
        plan=session.plan,
        method="session",
        credential_id=uuid.UUID(session.id),
        scopes=_DEFAULT_SCOPES,
        csrf_token=session.csrf_token,
    )
