"""/api/v1/auth: register, login, logout, me, csrf, google, sessions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from orbiter.auth import service, sign_in
from orbiter.auth.browser_sessions import COOKIE_NAME, CSRF_COOKIE, CSRF_HEADER, session_store
from orbiter.auth.dependencies import CurrentPrincipal, OptionalPrincipal, SameOrigin
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
from orbiter.core.pagination import Page, paginate_items
from orbiter.core.settings import Settings
from orbiter.models import User
from orbiter.runtime.deps import ClientIp, DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/auth", tags=["auth"])


def _client(request: Request, ip: str) -> sign_in.Client:
    return sign_in.Client(
        ip=ip,
        user_agent=request.headers.get("user-agent"),
        csrf_token=request.headers.get(CSRF_HEADER),
        session_cookie=request.cookies.get(COOKIE_NAME),
    )


def _set_cookie(
    response: Response, settings: Settings, name: str, value: str, *, httponly: bool
) -> None:
    """Session-long, site-wide, SameSite=Lax; Secure when configured."""
    response.set_cookie(
        name,
        value,
        max_age=settings.session_absolute_seconds,
        httponly=httponly,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )


def _set_csrf_cookie(response: Response, settings: Settings, csrf_token: str) -> None:
    """A readable copy of the session's CSRF token for same-origin pages (Swagger UI at /docs).

    Only a copy: writes are checked against the token stored with the session, so a cookie
    planted by someone else is worth nothing.
    """
    _set_cookie(response, settings, CSRF_COOKIE, csrf_token, httponly=False)


def _set_session_cookies(
    response: Response, signed_in: sign_in.BrowserSignIn, settings: Settings
) -> None:
    _set_cookie(response, settings, COOKIE_NAME, signed_in.cookie, httponly=True)
    _set_csrf_cookie(response, settings, signed_in.csrf_token)


@router.post(
    "/register",
    status_code=201,
    response_model=UserRead,
    dependencies=[SameOrigin],
    summary="Create an account",
)
async def register(
    body: RegisterRequest,
    request: Request,
    response: Response,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> User:
    """Create an account (and its personal project) and sign the browser in."""
    signed_in = await sign_in.register(
        db,
        resources,
        _client(request, ip),
        email=body.email,
        password=body.password,
        name=body.name,
    )
    _set_session_cookies(response, signed_in, resources.settings)
    return signed_in.user


@router.post(
    "/login",
    response_model=LoginResponse,
    dependencies=[SameOrigin],
    summary="Sign in with email and password",
)
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> LoginResponse:
    """Sign in with email and password; sets the `orbiter_session` cookie."""
    signed_in = await sign_in.login(
        db, resources, _client(request, ip), email=body.email, password=body.password
    )
    _set_session_cookies(response, signed_in, resources.settings)
    return LoginResponse(
        user=UserRead.model_validate(signed_in.user), csrf_token=signed_in.csrf_token
    )


@router.post("/logout", status_code=204, summary="Sign out")
async def logout(principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep) -> Response:
    """End this browser session, or revoke this bearer token."""
    await sign_in.logout(db, resources, principal)
    response = Response(status_code=204)
    if principal.method == "session":
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
        response.delete_cookie(CSRF_COOKIE, path="/", samesite="lax")
    return response


@router.get("/me", response_model=UserRead, summary="Get the signed-in user")
async def me(principal: CurrentPrincipal, db: DbSession) -> User:
    return await service.get_user(db, principal.user_id)


@router.get("/csrf", response_model=CsrfResponse, summary="Get a CSRF token")
async def csrf(
    principal: OptionalPrincipal, response: Response, resources: ResourcesDep
) -> CsrfResponse:
    """The session's CSRF token (also set as the readable `orbiter_csrf` cookie); without a
    session, a short-lived token for sign-in forms."""
    if principal is not None and principal.csrf_token:
        _set_csrf_cookie(response, resources.settings, principal.csrf_token)
        return CsrfResponse(csrf_token=principal.csrf_token)
    return CsrfResponse(csrf_token=sign_in.anonymous_csrf_token(resources))


@router.post(
    "/google",
    response_model=TokenResponse,
    dependencies=[SameOrigin],
    summary="Sign in with Google",
)
async def google(
    body: GoogleLoginRequest, request: Request, db: DbSession, resources: ResourcesDep, ip: ClientIp
) -> TokenResponse:
    """Exchange a Google ID token for an Orbiter bearer token (creates the user at first).

    409 when a password account already has the email: sign in to it and use
    `POST /auth/google/link`."""
    return await sign_in.google_sign_in(
        db, resources, _client(request, ip), credential=body.credential
    )


@router.post(
    "/google/link",
    response_model=UserRead,
    responses={409: {"description": "The Google account or this account is already linked"}},
    summary="Link a Google account",
)
async def link_google(
    body: GoogleLoginRequest, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> User:
    """Link a Google account to the signed-in browser's account, so that `POST /auth/google`
    signs in to it. `POST /auth/google` never links an existing account by email itself."""
    return await sign_in.link_google(db, resources, principal, credential=body.credential)


@router.get("/sessions", response_model=Page[SessionRead], summary="List sessions and tokens")
async def list_sessions(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, page: PageParamsDep
) -> Page[SessionRead]:
    """Active browser sessions and bearer tokens, newest first."""
    items = await service.list_sessions(db, session_store(resources), principal)
    data, info = paginate_items(
        items, key=lambda s: (s.created_at, s.id), params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.delete("/sessions/{session_id}", status_code=204, summary="Revoke a session or token")
async def revoke_session(
    session_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> Response:
    await service.revoke_session(db, session_store(resources), principal, session_id)
    return Response(status_code=204)
