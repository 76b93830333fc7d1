"""Turn the credentials on a request into a `Principal` (or an `AuthFailure`)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers

from orbiter.auth.browser_sessions import COOKIE_NAME, SessionStore
from orbiter.auth.principal import DEFAULT_API_KEY_SCOPES, AuthFailure, Principal
from orbiter.core.resources import Resources
from orbiter.core.security import hash_secret
from orbiter.core.time import utcnow
from orbiter.models import AccessToken, ApiKey, User

LAST_USED_PRECISION = timedelta(seconds=60)
Outcome = Principal | AuthFailure | None


def session_store(resources: Resources) -> SessionStore:
    settings = resources.settings
    return SessionStore(
        resources.kv,
        resources.secret_key,
        idle_seconds=settings.session_idle_seconds,
        absolute_seconds=settings.session_absolute_seconds,
    )


async def resolve_principal(
    headers: Headers, cookies: dict[str, str], resources: Resources
) -> Outcome:
    if api_key := headers.get("x-api-key"):
        return await _from_api_key(api_key, resources)
    if authorization := headers.get("authorization"):
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return AuthFailure("Unsupported Authorization header; use 'Bearer <token>'")
        return await _from_bearer(token.strip(), resources)
    if cookie := cookies.get(COOKIE_NAME):
        return await _from_cookie(cookie, resources)
    return None


async def _from_api_key(key: str, resources: Resources) -> Outcome:
    async with resources.sessionmaker() as db:
        row = (
            await db.execute(
                select(ApiKey, User)
                .join(User, User.id == ApiKey.user_id)
                .where(ApiKey.key_hash == hash_secret(key))
            )
        ).first()
        if row is None:
            return AuthFailure("Invalid API key")
        api_key, user = row
        now = utcnow()
        if api_key.expires_at is not None and api_key.expires_at <= now:
            return AuthFailure("API key expired")
        if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_PRECISION:
            await _touch(db, ApiKey, api_key.id)
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
        row = (
            await db.execute(
                select(AccessToken, User)
                .join(User, User.id == AccessToken.user_id)
                .where(AccessToken.token_hash == hash_secret(token))
            )
        ).first()
        if row is None:
            return AuthFailure("Invalid or revoked token")
        access_token, user = row
        now = utcnow()
        if access_token.expires_at <= now:
            return AuthFailure("Token expired")
        if (
            access_token.last_used_at is None
            or now - access_token.last_used_at >= LAST_USED_PRECISION
        ):
            await _touch(db, AccessToken, access_token.id)
        return Principal(
            user_id=user.id,
            email=user.email,
            plan=user.plan,
            method="bearer",
            credential_id=access_token.id,
            scopes=frozenset(DEFAULT_API_KEY_SCOPES),
        )


async def _from_cookie(cookie: str, resources: Resources) -> Outcome:
    session = await session_store(resources).load(cookie)
    if session is None:
        return AuthFailure("Session expired or signed out")
    async with resources.sessionmaker() as db:
        user = await db.get(User, uuid.UUID(session.user_id))
    if user is None:
        return AuthFailure("Session expired or signed out")
    return Principal(
        user_id=user.id,
        email=user.email,
        plan=user.plan,
        method="session",
        credential_id=uuid.UUID(session.id),
        scopes=frozenset(DEFAULT_API_KEY_SCOPES),
        csrf_token=session.csrf_token,
    )


async def _touch(
    db: AsyncSession, model: type[ApiKey] | type[AccessToken], row_id: uuid.UUID
) -> None:
    await db.execute(update(model).where(model.id == row_id).values(last_used_at=utcnow()))
    await db.commit()
