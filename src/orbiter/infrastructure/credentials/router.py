"""/api/v1/infrastructure/credentials: the caller's deploy-provider tokens (never returned)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.infrastructure.credentials import service
from orbiter.infrastructure.credentials.schemas import (
    CredentialCreate,
    CredentialRead,
    CredentialSaved,
)
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/infrastructure/credentials", tags=["infrastructure"])

SAVE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"model": CredentialSaved, "description": "Replaced the provider's earlier credential"},
}


@router.get("", response_model=Page[CredentialRead], summary="List infrastructure credentials")
async def list_credentials(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, page: PageParamsDep
) -> Page[CredentialRead]:
    """The caller's credentials, newest first, with what each provider said about its token;
    the tokens themselves are never returned."""
    data, info = await service.list_credentials(
        db, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.post(
    "",
    status_code=201,
    response_model=CredentialSaved,
    responses=SAVE_RESPONSES,
    summary="Save an infrastructure credential",
)
async def save_credential(
    body: CredentialCreate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
) -> CredentialSaved:
    """Check the token with the provider (422 when it refuses it, 502 when it cannot be
    reached), then store it encrypted: 201, or 200 when it replaces your earlier one."""
    saved, created = await service.save_credential(
        db, resources, user_id=principal.user_id, body=body
    )
    if not created:
        response.status_code = 200
    return saved


@router.delete("/{provider}", status_code=204, summary="Delete an infrastructure credential")
async def delete_credential(
    provider: Annotated[str, Path(max_length=40)], principal: CurrentPrincipal, db: DbSession
) -> Response:
    await service.delete_credential(db, user_id=principal.user_id, provider=provider)
    return Response(status_code=204)
