"""/api/v1/oauth: the device authorization grant (RFC 8628), and the /device page."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from orbiter.auth.dependencies import CurrentPrincipal, PrincipalIfAny
from orbiter.auth.schemas import TokenResponse
from orbiter.core.errors import OAuthError, UnsupportedMediaType
from orbiter.core.handlers import error_response
from orbiter.core.schemas import contains_nul
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
from orbiter.runtime.deps import ClientIp, DbSession, ResourcesDep

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
    summary="Start a device sign-in",
)
async def device_authorization(
    request: Request, db: DbSession, resources: ResourcesDep, ip: ClientIp
) -> DeviceCodeResponse:
    """Start a device sign-in: show `user_code` to the user, poll /oauth/token with `device_code`."""
    params = await _read_params(request)
    return await service.start(
        db,
        resources,
        ip=ip,
        client_id=params.get("client_id") or "cli",
        verification_uri=f"{_base_url(request)}/device",
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
    summary="Get the device's token",
)
async def token(request: Request, db: DbSession, resources: ResourcesDep) -> Any:
    """Poll for the token; errors are RFC 8628 §3.5 (`authorization_pending`, `slow_down`, ...)."""
    try:
        params = await _read_params(request)
    except UnsupportedMediaType as exc:  # OAuth clients parse only the RFC error shape
        raise OAuthError("invalid_request", exc.message) from exc
    outcome = await service.exchange(
        db,
        resources,
        grant_type=params.get("grant_type"),
        device_code=params.get("device_code"),
        client_id=params.get("client_id") or "cli",
        user_agent=request.headers.get("user-agent"),
    )
    if isinstance(outcome, OAuthError):
        return error_response(outcome)  # returned, not raised: the poll's bookkeeping commits
    return JSONResponse(outcome.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.post("/device/lookup", response_model=DeviceRequestRead, summary="Look up a device request")
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
    return await service.lookup(db, resources, principal, ip=ip, user_code=body.user_code)


@router.post("/device/authorize", response_model=DeviceDecision, summary="Approve a device")
async def authorize_device(
    body: DeviceAuthorizeRequest,
    principal: PrincipalIfAny,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> DeviceDecision:
    """Approve the device showing `user_code`, as the signed-in user or a Google account."""
    await service.decide(
        db,
        resources,
        principal,
        ip=ip,
        user_code=body.user_code,
        google_credential=body.credential,
        approve=True,
    )
    return DeviceDecision(success=True, message="Device approved; you can return to your terminal")


@router.post("/device/deny", response_model=DeviceDecision, summary="Deny a device")
async def deny_device(
    body: UserCodeRequest,
    principal: PrincipalIfAny,
    db: DbSession,
    resources: ResourcesDep,
    ip: ClientIp,
) -> DeviceDecision:
    await service.decide(
        db,
        resources,
        principal,
        ip=ip,
        user_code=body.user_code,
        google_credential=None,
        approve=False,
    )
    return DeviceDecision(success=True, message="Device request denied")


@pages.get("/device", response_class=HTMLResponse)
async def device_page_route(request: Request) -> HTMLResponse:
    """Where a signed-in user types the code their CLI shows."""
    return device_page(request.query_params.get("user_code", ""))
