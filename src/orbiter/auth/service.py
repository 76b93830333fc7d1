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
from orbiter.core.schemas import normalise_email
from orbiter.core.security import hash_secret, new_secret
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.models import AccessToken, User
from orbiter.runtime.google import GoogleIdentity
from orbiter.tenancy.projects import create_personal_project

BAD_LOGIN = "Invalid email or password"
TOKEN_PREFIX = "orbt_"  # noqa: S105 - a public prefix, not a secret


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
    """The user for this pair, or 401. Each attempt takes one of the account's failed-login
    allowance before the password is checked (so concurrent guesses cannot overrun it) and a
    correct password gives it back: the allowance counts failures only."""
    email = normalise_email(email)
    window = per_seconds(
        settings.rate_limit_failed_logins, settings.rate_limit_failed_login_window_seconds
    )
    await limiter.reserve(
        window,
        "failed-login",
        email,
        message="Too many failed sign-in attempts for this account; try again later",
    )
    user = await db.scalar(select(User).where(User.email == email))
    valid, new_hash = await passwords.verify_password(
        password, user.password_hash if user else None
    )
    if not valid or user is None:
        raise Unauthorized(BAD_LOGIN)
    await limiter.refund(window, "failed-login", email)
    if new_hash:
        user.password_hash = new_hash
    return user


async def google_user(db: AsyncSession, identity: GoogleIdentity) -> User:
    """The user a Google identity signs in as: the one linked to it, or a new account.

    An existing account with the same email is never linked here: its email was never proven,
    so whoever registered it first (perhaps to wait for the owner) would get the Google user's
    sign-ins. Its holder signs in with the password and links Google from the session.
    """
    user = await db.scalar(select(User).where(User.google_sub == identity.sub))
    if user is None:
        if not identity.email or not identity.email_verified:
            raise Unauthorized("The Google account has no verified email")
        email = normalise_email(identity.email)
        if await db.scalar(select(User.id).where(User.email == email)) is not None:
            raise _email_taken()
        user = User(
            email=email, name=identity.name, picture=identity.picture, google_sub=identity.sub
        )
        await _insert_user(db, user)
    if identity.picture and not user.picture:
        user.picture = identity.picture
    return user


def _email_taken() -> Conflict:
    return Conflict(
        "An account with this email already exists and is not linked to Google: sign in with "
        "its password, then link Google with POST /api/v1/auth/google/link",
        details={"field": "email"},
    )


async def link_google(db: AsyncSession, *, user_id: uuid.UUID, identity: GoogleIdentity) -> User:
    """Link a Google identity to the signed-in account (any email: both sides are proven)."""
    user = await get_user(db, user_id)
    holder = await db.scalar(select(User.id).where(User.google_sub == identity.sub))
    if holder is not None and holder != user.id:
        raise Conflict("This Google account is linked to another Orbiter account")
    if user.google_sub is not None and user.google_sub != identity.sub:
        raise Conflict("This account is already linked to another Google account")
    user.google_sub = identity.sub
    if identity.picture and not user.picture:
        user.picture = identity.picture
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:  # a concurrent link of the same Google account won
        raise Conflict("This Google account is linked to another Orbiter account") from exc
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
