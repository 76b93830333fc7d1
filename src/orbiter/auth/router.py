"""/api/v1/auth: register, login, logout, me, csrf, google, sessions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from orbiter.auth import service
from orbiter.auth.browser_sessions import COOKIE_NAME
from orbiter.auth.dependencies import (
    CSRF_COOKIE,
    CSRF_HEADER,
    CurrentPrincipal,
    OptionalPrincipal,
    check_origin,
)
from orbiter.auth.resolve import session_store
from orbiter.auth.schemas import (
    CsrfResponse,
    GoogleLoginRequest,
    LoginRequest,
    LoginResponse,
    RegisterRequest,
    SessionRead,
    TokenResponse,
    UserRead,
)
from orbiter.core.deps import ClientIp, DbSession, PageParamsDep, ResourcesDep
from orbiter.core.errors import BadRequest, Forbidden
from orbiter.core.pagination import Page, paginate_items
from orbiter.core.ratelimit import per_minute
from orbiter.core.resources import Resources
from orbiter.core.security import new_secret
from orbiter.models import User

router = APIRouter(prefix="/auth", tags=["auth"])
ANONYMOUS_CSRF_MAX_AGE = 2 * 3600


def _anonymous_csrf(resources: Resources) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(resources.secret_key, salt="orbiter.csrf.anonymous")


async def _guard_sign_in(request: Request, resources: Resources, ip: str) -> None:
    """Sign-in forms: same-origin only, the anonymous CSRF token when sent, per-IP limit."""
    check_origin(request)
    if token := request.headers.get(CSRF_HEADER):
        try:
            _anonymous_csrf(resources).loads(token, max_age=ANONYMOUS_CSRF_MAX_AGE)
        except BadSignature as exc:
            raise Forbidden(f"Invalid {CSRF_HEADER} header") from exc
    limit = per_minute(resources.settings.rate_limit_auth_per_ip)
    await resources.limiter.enforce(limit, "sign-in-ip", ip, message="Too many sign-in requests")


def _set_cookie(
    response: Response, resources: Resources, name: str, value: str, *, httponly: bool
) -> None:
    """Session-long, site-wide, SameSite=Lax; Secure when configured."""
    response.set_cookie(
        name,
        value,
        max_age=resources.settings.session_absolute_seconds,
        httponly=httponly,
        samesite="lax",
        secure=resources.settings.cookie_secure,
        path="/",
    )


def _set_csrf_cookie(response: Response, resources: Resources, csrf_token: str) -> None:
    """A readable copy of the session's CSRF token for same-origin pages (Swagger UI at /docs).

    Only a copy: writes are checked against the token stored with the session, so a cookie
    planted by someone else is worth nothing.
    """
    _set_cookie(response, resources, CSRF_COOKIE, csrf_token, httponly=False)


async def _start_browser_session(
    request: Request, response: Response, resources: Resources, user: User, ip: str
) -> str:
    store = session_store(resources)
    old_cookie = request.cookies.get(COOKIE_NAME)
    if old_cookie and (old := await store.load(old_cookie)):  # a new id at every login
        await store.destroy(old)
    cookie, session = await store.create(
        user.id,
        email=user.email,
        plan=user.plan,
        user_agent=request.headers.get("user-agent"),
        ip=ip,
    )
    _set_cookie(response, resources, COOKIE_NAME, cookie, httponly=True)
    _set_csrf_cookie(response, resources, session.csrf_token)
    return session.csrf_token


@router.post("/register", status_code=201, response_model=UserRead)
async def register(
    body: RegisterRequest,
    request: Request,
    response: Response,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> User:
    """Create an account (and its personal project) and sign the browser in."""
    await _guard_sign_in(request, resources, ip)
    user = await service.register(db, email=body.email, password=body.password, name=body.name)
    await _start_browser_session(request, response, resources, user, ip)
    return user


@router.post("/login", response_model=LoginResponse)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> LoginResponse:
    """Sign in with email and password; sets the `orbiter_session` cookie."""
    await _guard_sign_in(request, resources, ip)
    user = await service.authenticate(
        db, resources.limiter, resources.settings, email=body.email, password=body.password
    )
    csrf_token = await _start_browser_session(request, response, resources, user, ip)
    return LoginResponse(user=UserRead.model_validate(user), csrf_token=csrf_token)


@router.post("/logout", status_code=204)
async def logout(principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep) -> Response:
    """End this browser session, or revoke this bearer token."""
    response = Response(status_code=204)
    if principal.method == "api_key":
        raise BadRequest("API keys are revoked with DELETE /api/v1/api-keys/{id}")
    if principal.method == "bearer":
        await service.revoke_access_token(
            db, user_id=principal.user_id, token_id=principal.credential_id
        )
        return response
    store = session_store(resources)
    if session := await store.get(str(principal.credential_id)):
        await store.destroy(session)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="lax")
    return response


@router.get("/me", response_model=UserRead)
async def me(principal: CurrentPrincipal, db: DbSession) -> User:
    return await service.get_user(db, principal.user_id)


@router.get("/csrf", response_model=CsrfResponse)
async def csrf(
    principal: OptionalPrincipal, response: Response, resources: ResourcesDep
) -> CsrfResponse:
    """The session's CSRF token (also set as the readable `orbiter_csrf` cookie); without a
    session, a short-lived token for sign-in forms."""
    if principal is not None and principal.csrf_token:
        _set_csrf_cookie(response, resources, principal.csrf_token)
        return CsrfResponse(csrf_token=principal.csrf_token)
    return CsrfResponse(csrf_token=_anonymous_csrf(resources).dumps(new_secret(16)))


@router.post("/google", response_model=TokenResponse)
async def google(
    body: GoogleLoginRequest, request: Request, db: DbSession, resources: ResourcesDep, ip: ClientIp
) -> TokenResponse:
    """Exchange a Google ID token for an Orbiter bearer token (creates the user at first)."""
    await _guard_sign_in(request, resources, ip)
    identity = await resources.google.verify(body.credential)
    user = await service.google_user(db, identity)
    days = resources.settings.bearer_token_days
    raw, _ = await service.issue_access_token(
        db,
        user_id=user.id,
        client_name="google",
        user_agent=request.headers.get("user-agent"),
        days=days,
    )
    return TokenResponse(
        access_token=raw, expires_in=days * 86400, user=UserRead.model_validate(user)
    )


@router.get("/sessions", response_model=Page[SessionRead])
async def list_sessions(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, page: PageParamsDep
) -> Page[SessionRead]:
    """Active browser sessions and bearer tokens, newest first."""
    items = await service.list_sessions(db, session_store(resources), principal)
    data, info = paginate_items(
        items, key=lambda s: (s.created_at, s.id), params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.delete("/sessions/{session_id}", status_code=204)
async def revoke_session(
    session_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> Response:
    await service.revoke_session(db, session_store(resources), principal, session_id)
    return Response(status_code=204)
