"""Signing in and out: guarding the sign-in forms, starting and ending browser sessions, and
exchanging a Google ID token for a bearer token. HTTP-free: routers pass plain values in and
set the cookie the result names.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.auth import service
from orbiter.auth.browser_sessions import CSRF_HEADER, session_store
from orbiter.auth.principal import Principal
from orbiter.auth.schemas import TokenResponse, UserRead
from orbiter.core.errors import BadRequest, Forbidden
from orbiter.core.ratelimit import per_minute
from orbiter.core.security import new_secret
from orbiter.models import User
from orbiter.runtime.resources import Resources

ANONYMOUS_CSRF_MAX_AGE = 2 * 3600


@dataclass(frozen=True)
class Client:
    """Who is signing in, as far as the request tells: for the sessions list and the limits."""

    ip: str
    user_agent: str | None
    csrf_token: str | None = None  # the anonymous sign-in form token, when sent
    session_cookie: str | None = None  # an earlier session to end at login


@dataclass(frozen=True)
class BrowserSignIn:
    user: User
    cookie: str
    csrf_token: str


def _anonymous_csrf(resources: Resources) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(resources.secret_key, salt="orbiter.csrf.anonymous")


def anonymous_csrf_token(resources: Resources) -> str:
    """A short-lived token for sign-in forms, before there is a session to bind one to."""
    return _anonymous_csrf(resources).dumps(new_secret(16))


async def guard_sign_in(resources: Resources, client: Client) -> None:
    """The anonymous CSRF token when sent, and the per-IP sign-in limit."""
    if client.csrf_token:
        try:
            _anonymous_csrf(resources).loads(client.csrf_token, max_age=ANONYMOUS_CSRF_MAX_AGE)
        except BadSignature as exc:
            raise Forbidden(f"Invalid {CSRF_HEADER} header") from exc
    limit = per_minute(resources.settings.rate_limit_auth_per_ip)
    await resources.limiter.enforce(
        limit, "sign-in-ip", client.ip, message="Too many sign-in requests"
    )


async def _start_browser_session(resources: Resources, user: User, client: Client) -> BrowserSignIn:
    store = session_store(resources)
    if client.session_cookie and (old := await store.load(client.session_cookie)):
        await store.destroy(old)  # a new id at every sign-in
    cookie, session = await store.create(
        user.id, email=user.email, plan=user.plan, user_agent=client.user_agent, ip=client.ip
    )
    return BrowserSignIn(user=user, cookie=cookie, csrf_token=session.csrf_token)


async def register(
    db: AsyncSession,
    resources: Resources,
    client: Client,
    *,
    email: str,
    password: str,
    name: str | None,
) -> BrowserSignIn:
    """Create the account (and its personal project) and sign the browser in."""
    await guard_sign_in(resources, client)
    user = await service.register(db, email=email, password=password, name=name)
    return await _start_browser_session(resources, user, client)


async def login(
    db: AsyncSession, resources: Resources, client: Client, *, email: str, password: str
) -> BrowserSignIn:
    await guard_sign_in(resources, client)
    user = await service.authenticate(
        db, resources.limiter, resources.settings, email=email, password=password
    )
    return await _start_browser_session(resources, user, client)


async def logout(db: AsyncSession, resources: Resources, principal: Principal) -> None:
    """End this browser session, or revoke this bearer token."""
    if principal.method == "api_key":
        raise BadRequest("API keys are revoked with DELETE /api/v1/api-keys/{id}")
    if principal.method == "bearer":
        await service.revoke_access_token(
            db, user_id=principal.user_id, token_id=principal.credential_id
        )
        return
    store = session_store(resources)
    if session := await store.get(str(principal.credential_id)):
        await store.destroy(session)


async def google_user(db: AsyncSession, resources: Resources, credential: str) -> User:
    """The user a Google ID token names (created at first sign-in)."""
    return await service.google_user(db, await resources.google.verify(credential))


async def link_google(
    db: AsyncSession, resources: Resources, principal: Principal, *, credential: str
) -> User:
    """Link a Google account to the signed-in browser's account (a key or token may not)."""
    if principal.method != "session":
        raise Forbidden("Only a signed-in browser links a Google account")
    identity = await resources.google.verify(credential)
    return await service.link_google(db, user_id=principal.user_id, identity=identity)


async def issue_token(
    db: AsyncSession, resources: Resources, user: User, *, client_name: str, user_agent: str | None
) -> TokenResponse:
    """A bearer token for `user`, in the RFC 6749 token response shape."""
    days = resources.settings.bearer_token_days
    raw, _ = await service.issue_access_token(
        db, user_id=user.id, client_name=client_name, user_agent=user_agent, days=days
    )
    return TokenResponse(
        access_token=raw, expires_in=days * 86400, user=UserRead.model_validate(user)
    )


async def google_sign_in(
    db: AsyncSession, resources: Resources, client: Client, *, credential: str
) -> TokenResponse:
    """Exchange a Google ID token for an Orbiter bearer token."""
    await guard_sign_in(resources, client)
    user = await google_user(db, resources, credential)
    return await issue_token(
        db, resources, user, client_name="google", user_agent=client.user_agent
    )
