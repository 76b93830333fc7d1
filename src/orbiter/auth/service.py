"""Accounts and sign-in: registration, password login, Google, bearer tokens, sessions."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.auth import passwords
from orbiter.auth.browser_sessions import SessionStore
from orbiter.auth.principal import Principal
from orbiter.auth.schemas import SessionRead
from orbiter.core.errors import Conflict, NotFound, Unauthorized
from orbiter.core.ratelimit import RateLimiter, per_seconds
from orbiter.core.security import hash_secret, new_secret
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.models import AccessToken, User
from orbiter.runtime.google import GoogleIdentity
from orbiter.tenancy.projects import create_personal_project

BAD_LOGIN = "Invalid email or password"
TOKEN_PREFIX = "orbt_"  # noqa: S105 - a public prefix, not a secret


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def register(db: AsyncSession, *, email: str, password: str, name: str | None) -> User:
    email = normalise_email(email)
    passwords.check_policy(password, email=email)
    if await db.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this email already exists", details={"field": "email"})
    user = User(email=email, name=name, password_hash=await passwords.hash_password(password))
    await _insert_user(db, user)
    return user


async def _insert_user(db: AsyncSession, user: User) -> None:
    try:
        async with db.begin_nested():
            db.add(user)
            await db.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("An account with this email already exists") from exc
    await create_personal_project(db, user_id=user.id)


async def get_user(db: AsyncSession, user_id: uuid.UUID) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


async def authenticate(
    db: AsyncSession, limiter: RateLimiter, settings: Settings, *, email: str, password: str
) -> User:
    email = normalise_email(email)
    window = per_seconds(
        settings.rate_limit_failed_logins, settings.rate_limit_failed_login_window_seconds
    )
    if limiter.enabled:
        (await limiter.peek(window, "failed-login", email)).raise_if_denied(
            "Too many failed sign-in attempts for this account; try again later"
        )
    user = await db.scalar(select(User).where(User.email == email))
    valid, new_hash = await passwords.verify_password(
        password, user.password_hash if user else None
    )
    if not valid or user is None:
        if limiter.enabled:
            await limiter.hit(window, "failed-login", email)
        raise Unauthorized(BAD_LOGIN)
    if new_hash:
        user.password_hash = new_hash
    return user


async def google_user(db: AsyncSession, identity: GoogleIdentity) -> User:
    user = await db.scalar(select(User).where(User.google_sub == identity.sub))
    if user is None and identity.email and identity.email_verified:
        user = await db.scalar(select(User).where(User.email == normalise_email(identity.email)))
        if user is not None:
            user.google_sub = identity.sub
    if user is None:
        if not identity.email or not identity.email_verified:
            raise Unauthorized("The Google account has no verified email")
        user = User(
            email=normalise_email(identity.email),
            name=identity.name,
            picture=identity.picture,
            google_sub=identity.sub,
        )
        await _insert_user(db, user)
    if identity.picture and not user.picture:
        user.picture = identity.picture
    return user


async def issue_access_token(
    db: AsyncSession, *, user_id: uuid.UUID, client_name: str, user_agent: str | None, days: int
) -> tuple[str, AccessToken]:
    raw = TOKEN_PREFIX + new_secret(32)
    token = AccessToken(
        user_id=user_id,
        token_hash=hash_secret(raw),
        client_name=client_name[:200],
        user_agent=(user_agent or "")[:500] or None,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.add(token)
    await db.flush()
    return raw, token


async def revoke_access_token(db: AsyncSession, *, user_id: uuid.UUID, token_id: uuid.UUID) -> bool:
    result = await db.execute(
        delete(AccessToken).where(AccessToken.id == token_id, AccessToken.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_sessions(
    db: AsyncSession, store: SessionStore, principal: Principal
) -> list[SessionRead]:
    browser = [
        SessionRead(
            id=uuid.UUID(s.id),
            kind="browser",
            device=s.user_agent,
            ip=s.ip,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
            expires_at=s.expires_at,
            current=principal.method == "session" and uuid.UUID(s.id) == principal.credential_id,
        )
        for s in await store.list_for_user(principal.user_id)
    ]
    tokens = (
        await db.scalars(
            select(AccessToken).where(
                AccessToken.user_id == principal.user_id, AccessToken.expires_at > utcnow()
            )
        )
    ).all()
    return browser + [
        SessionRead(
            id=t.id,
            kind="token",
            device=t.user_agent or t.client_name,
            created_at=t.created_at,
            last_seen_at=t.last_used_at,
            expires_at=t.expires_at,
            current=principal.method == "bearer" and t.id == principal.credential_id,
        )
        for t in tokens
    ]


async def revoke_session(
    db: AsyncSession, store: SessionStore, principal: Principal, session_id: uuid.UUID
) -> None:
    browser = await store.get(str(session_id))
    if browser is not None and browser.user_id == str(principal.user_id):
        if not await store.destroy(browser):
            raise NotFound("Session not found")
        return
    if not await revoke_access_token(db, user_id=principal.user_id, token_id=session_id):
        raise NotFound("Session not found")
