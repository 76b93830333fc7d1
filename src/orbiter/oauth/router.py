"""/api/v1/oauth: the device authorization grant (RFC 8628), and the /device page."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from orbiter.auth import service as auth_service
from orbiter.auth.dependencies import CurrentPrincipal, PrincipalIfAny
from orbiter.auth.principal import Principal
from orbiter.auth.schemas import TokenResponse, UserRead
from orbiter.core.deps import ClientIp, DbSession, ResourcesDep
from orbiter.core.errors import Forbidden, OAuthError, Unauthorized, UnsupportedMediaType
from orbiter.core.handlers import error_response
from orbiter.core.ratelimit import per_minute
from orbiter.core.schemas import contains_nul
from orbiter.models import User
from orbiter.oauth import service
from orbiter.oauth.page import device_page
from orbiter.oauth.schemas import (
    DeviceAuthorizeRequest,
    DeviceCodeResponse,
    DeviceDecision,
    DeviceRequestRead,
    OAuthErrorBody,
    UserCodeRequest,
)

router = APIRouter(prefix="/oauth", tags=["oauth"])
pages = APIRouter(include_in_schema=False)

FORM = "application/x-www-form-urlencoded"


def _form_or_json_body(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": fields, "required": required}
    return {
        "requestBody": {
            "required": bool(required),
            "content": {FORM: {"schema": schema}, "application/json": {"schema": schema}},
        }
    }


async def _read_params(request: Request) -> dict[str, str]:
    """OAuth clients send forms (RFC 6749); JSON is accepted too. NUL characters are refused."""
    params = await _parse_body(request)
    if contains_nul(params):
        raise OAuthError("invalid_request", "Parameters must not contain NUL characters")
    return params


async def _parse_body(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        return {}
    if content_type == FORM:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise OAuthError("invalid_request", "Malformed JSON body") from exc
        if not isinstance(data, dict):
            raise OAuthError("invalid_request", "The body must be a JSON object")
        return {k: v for k, v in data.items() if isinstance(v, str)}
    raise UnsupportedMediaType(f"Send {FORM} or application/json")


def _base_url(request: Request) -> str:
    public = request.app.state.resources.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


@router.post(
    "/device",
    response_model=DeviceCodeResponse,
    responses={400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"}},
    openapi_extra=_form_or_json_body(
        {"client_id": {"type": "string", "maxLength": 200}, "scope": {"type": "string"}}, []
    ),
)
async def device_authorization(
    request: Request, db: DbSession, resources: ResourcesDep, ip: ClientIp
) -> DeviceCodeResponse:
    """Start a device sign-in: show `user_code` to the user, poll /oauth/token with `device_code`."""
    limit = per_minute(resources.settings.rate_limit_auth_per_ip)
    await resources.limiter.enforce(
        limit, "sign-in-ip", ip, message="Too many device code requests"
    )
    params = await _read_params(request)
    new = await service.start(
        db,
        resources.settings,
        client_id=params.get("client_id") or "cli",
        scope=params.get("scope"),
    )
    verification_uri = f"{_base_url(request)}/device"
    return DeviceCodeResponse(
        device_code=new.device_code,
        user_code=new.user_code,
        verification_uri=verification_uri,
        verification_uri_complete=f"{verification_uri}?user_code={new.user_code}",
        expires_in=new.expires_in,
        interval=new.interval,
    )


@router.post(
    "/token",
    response_model=TokenResponse,
    responses={400: {"model": OAuthErrorBody, "description": "RFC 6749 §5.2 error"}},
    openapi_extra=_form_or_json_body(
        {
            "grant_type": {"type": "string", "enum": [service.DEVICE_GRANT]},
            "device_code": {"type": "string"},
            "client_id": {"type": "string"},
        },
        ["grant_type", "device_code"],
    ),
)
async def token(request: Request, db: DbSession, resources: ResourcesDep) -> Any:
    """Poll for the token; errors are RFC 8628 §3.5 (`authorization_pending`, `slow_down`, ...)."""
    try:
        params = await _read_params(request)
    except UnsupportedMediaType as exc:  # OAuth clients parse only the RFC error shape
        raise OAuthError("invalid_request", exc.message) from exc
    if params.get("grant_type") != service.DEVICE_GRANT:
        raise OAuthError("unsupported_grant_type", f"grant_type must be {service.DEVICE_GRANT}")
    if not params.get("device_code"):
        raise OAuthError("invalid_request", "device_code is required")
    outcome = await service.poll(db, device_code=params["device_code"])
    if isinstance(outcome, OAuthError):
        return error_response(outcome)  # returned, not raised: the poll's bookkeeping commits
    user = outcome
    days = resources.settings.bearer_token_days
    raw, _ = await auth_service.issue_access_token(
        db,
        user_id=user.id,
        client_name=params.get("client_id") or "cli",
        user_agent=request.headers.get("user-agent"),
        days=days,
    )
    body = TokenResponse(
        access_token=raw, expires_in=days * 86400, user=UserRead.model_validate(user)
    )
    return JSONResponse(body.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


def _refuse_api_keys(principal: Principal | None) -> None:
    if principal is not None and principal.method == "api_key":
        # A CI key must not mint itself a 30-day bearer token that outlives the key.
        raise Forbidden("API keys cannot approve devices; sign in to approve one")


async def _decide(
    db: DbSession,
    resources: ResourcesDep,
    ip: str,
    principal: Principal | None,
    user: User | None,
    user_code: str,
    approve: bool,
) -> None:
    _refuse_api_keys(principal)
    if user is None:
        raise Unauthorized("Sign in (or send a Google credential) to approve a device")
    await service.decide(
        db,
        resources.limiter,
        resources.settings,
        user_id=user.id,
        ip=ip,
        user_code=user_code,
        approve=approve,
    )


@router.post("/device/lookup", response_model=DeviceRequestRead)
async def lookup_device(
    body: UserCodeRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> DeviceRequestRead:
    """The pending request showing `user_code`: which client asked, before the user approves.

    Wrong codes count against the same limit as wrong approvals.
    """
    _refuse_api_keys(principal)
    grant = await service.find_pending(
        db,
        resources.limiter,
        resources.settings,
        user_id=principal.user_id,
        ip=ip,
        user_code=body.user_code,
    )
    return DeviceRequestRead(
        user_code=service.format_user_code(grant.user_code),
        client_id=grant.client_id,
        scope=grant.scope,
        expires_at=grant.expires_at,
    )


@router.post("/device/authorize", response_model=DeviceDecision)
async def authorize_device(
    body: DeviceAuthorizeRequest,
    request: Request,
    principal: PrincipalIfAny,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> DeviceDecision:
    """Approve the device showing `user_code`, as the signed-in user or a Google account."""
    user = await auth_service.get_user(db, principal.user_id) if principal else None
    if user is None and body.credential:
        user = await auth_service.google_user(db, await resources.google.verify(body.credential))
    await _decide(db, resources, ip, principal, user, body.user_code, approve=True)
    return DeviceDecision(success=True, message="Device approved; you can return to your terminal")


@router.post("/device/deny", response_model=DeviceDecision)
async def deny_device(
    body: UserCodeRequest,
    request: Request,
    principal: PrincipalIfAny,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> DeviceDecision:
    user = await auth_service.get_user(db, principal.user_id) if principal else None
    await _decide(db, resources, ip, principal, user, body.user_code, approve=False)
    return DeviceDecision(success=True, message="Device request denied")


@pages.get("/device", response_class=HTMLResponse)
async def device_page_route(request: Request) -> HTMLResponse:
    """Where a signed-in user types the code their CLI shows."""
    return device_page(request.query_params.get("user_code", ""))
