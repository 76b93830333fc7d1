"""FastAPI dependencies: the caller, CSRF and Origin checks, API-key-only routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from orbiter.auth.browser_sessions import COOKIE_NAME, CSRF_COOKIE, CSRF_HEADER
from orbiter.auth.principal import AuthFailure, Principal
from orbiter.core.errors import Forbidden, Unauthorized
from orbiter.core.security import same
from orbiter.core.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared for the OpenAPI document (Swagger's Authorize button, generated clients); the
# credentials themselves are resolved once by AuthenticationMiddleware.
api_key_scheme = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKey",
    description=(
        "For scripts and CI. Signed in (session or bearer), create one with "
        "`POST /api/v1/api-keys`; the `key` in its response is shown once. Send it as the "
        "`X-API-Key` header. Scopes: `read`, `write` (the default pair) and `secrets:read`."
    ),
)
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    description=(
        "For the CLI. Start the device flow with `POST /api/v1/oauth/device`, approve the "
        "`user_code` at `/device` while signed in, then poll `POST /api/v1/oauth/token` for "
        "`access_token` (or exchange a Google ID token at `POST /api/v1/auth/google`). Send "
        "`Authorization: Bearer <token>`; it lasts `ORBITER_BEARER_TOKEN_DAYS` (30) days and "
        "`POST /api/v1/auth/logout` revokes it."
    ),
)
cookie_scheme = APIKeyCookie(
    name=COOKIE_NAME,
    auto_error=False,
    scheme_name="SessionCookie",
    description=(
        "For browsers. `POST /api/v1/auth/login` (or `/auth/register`) sets this HttpOnly "
        "cookie; the browser sends it, so nothing goes in the Authorize dialog. Writes also "
        f"need the `{CSRF_HEADER}` header: the `csrf_token` of the login response or of "
        f"`GET /api/v1/auth/csrf`. In Swagger UI, sign in with *Try it out* on "
        f"`POST /api/v1/auth/login`; the page then copies the readable `{CSRF_COOKIE}` cookie "
        "into that header on every write."
    ),
)


def allowed_origins(own_origin: str, settings: Settings) -> set[str]:
    """This server's own origin, its public URL, and the configured CORS origins."""
    origins = {o.rstrip("/") for o in settings.cors_origins}
    origins.add(own_origin)
    if settings.public_url:
        origins.add(settings.public_url.rstrip("/"))
    return origins


def check_origin(request: Request) -> None:
    """Refuse cross-site browser requests that would act with the user's cookie."""
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin and origin.rstrip("/") not in allowed_origins(
        own, request.app.state.resources.settings
    ):
        raise Forbidden("Cross-origin request refused", details={"origin": origin})


async def same_origin(request: Request) -> None:
    check_origin(request)


# On the sign-in forms: a foreign page must not sign a browser in to an account it chose.
SameOrigin = Depends(same_origin)


# Every authenticated operation accepts these; the OpenAPI document declares them on each
# (`openapi.document`) rather than `get_principal` taking them as `Security()` parameters,
# which cost FastAPI three dependency resolutions per request for the document's sake.
# Dependencies that narrow or relax the requirement (API key only, optional) declare their own.
SECURITY_SCHEMES = (api_key_scheme, bearer_scheme, cookie_scheme)


# Dependencies are `async def` on purpose: FastAPI runs plain `def` ones in a worker thread.
async def get_principal(request: Request) -> Principal:
    return checked_principal(request)


def checked_principal(request: Request) -> Principal:
    """The resolved caller, with CSRF/Origin checks for cookies and scope checks for keys."""
    outcome = getattr(request.state, "principal", None)
    if isinstance(outcome, AuthFailure):
        raise Unauthorized(outcome.message)
    if not isinstance(outcome, Principal):
        raise Unauthorized("Authentication required: a session cookie, X-API-Key or Bearer token")
    unsafe = request.method not in SAFE_METHODS
    if outcome.method == "session" and unsafe:
        check_origin(request)
        sent = request.headers.get(CSRF_HEADER, "")
        if not outcome.csrf_token or not sent or not same(sent, outcome.csrf_token):
            raise Forbidden(
                f"Missing or invalid {CSRF_HEADER} header (get one from GET /api/v1/auth/csrf)"
            )
    if outcome.method == "api_key":
        needed = "write" if unsafe else "read"
        if not outcome.has_scope(needed):
            raise Forbidden(f"This API key lacks the '{needed}' scope")
    return outcome


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]

# The only /api/v1 routes (paths below the prefix) that answer without a principal (API.md §1.2). Every other route
# needs one, because `require_principal` sits on the parent router: a new route cannot be
# public by accident. tests/test_route_auth.py checks every route against this list.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/auth/register"),
        ("POST", "/auth/login"),
        ("GET", "/auth/csrf"),
        ("POST", "/auth/google"),
        ("POST", "/oauth/device"),
        ("POST", "/oauth/token"),
        ("POST", "/oauth/device/authorize"),
        ("POST", "/oauth/device/deny"),
        # The secret token in the path is the credential (workflows/webhook_router.py).
        ("POST", "/hooks/workflows/{token}"),
    }
)


# Routes that check credentials of their own besides the caller's (a deployment key on its
# invoke route): the route resolves whichever was sent and answers 401 without one.
OWN_CREDENTIAL_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/deployments/{deployment_id}/invoke"),
        ("GET", "/deployments/{deployment_id}/runs/{run_id}"),
        # The deploy pipeline's callback: the deployment's own token, never a user's session.
        ("POST", "/infrastructure/deployments/{deployment_id}/status"),
    }
)


async def require_principal(request: Request) -> None:
    """On the parent /api/v1 router: a principal unless the route is in `PUBLIC_ROUTES` or
    checks its own credentials (`OWN_CREDENTIAL_ROUTES`)."""
    method = "GET" if request.method == "HEAD" else request.method
    route = (method, getattr(request.scope.get("route"), "path", ""))
    if route not in PUBLIC_ROUTES and route not in OWN_CREDENTIAL_ROUTES:
        checked_principal(request)


async def get_optional_principal(request: Request) -> Principal | None:
    outcome = getattr(request.state, "principal", None)
    return outcome if isinstance(outcome, Principal) else None


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


async def require_api_key(
    request: Request,
    _api_key: Annotated[str | None, Security(api_key_scheme)] = None,
) -> Principal:
    outcome = getattr(request.state, "principal", None)
    if isinstance(outcome, Principal) and outcome.method == "api_key":
        return checked_principal(request)
    raise Unauthorized("This route accepts API keys only (X-API-Key header)")


ApiKeyPrincipal = Annotated[Principal, Depends(require_api_key)]


async def get_principal_if_any(
    request: Request,
    _api_key: Annotated[str | None, Security(api_key_scheme)] = None,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    _cookie: Annotated[str | None, Security(cookie_scheme)] = None,
) -> Principal | None:
    """For routes that also work without a user: credentials, when sent, are checked in full."""
    if getattr(request.state, "principal", None) is None:
        check_origin(request)
        return None
    return checked_principal(request)


PrincipalIfAny = Annotated[Principal | None, Depends(get_principal_if_any)]
