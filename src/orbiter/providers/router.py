"""/api/v1/providers: the caller's LLM providers (keys encrypted at rest, shown masked)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.providers import opening, service
from orbiter.providers.schemas import (
    ProviderCreate,
    ProviderRead,
    ProviderTestResult,
    ProviderUpdate,
)
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/providers", tags=["providers"])


@router.get("", response_model=Page[ProviderRead], summary="List LLM providers")
async def list_providers(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, page: PageParamsDep
) -> Page[ProviderRead]:
    """The caller's providers, newest first; keys masked to their last 4 characters."""
    data, info = await service.list_providers(
        db, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.post("", status_code=201, response_model=ProviderRead, summary="Add an LLM provider")
async def create_provider(
    body: ProviderCreate, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> ProviderRead:
    """Add a provider. The first one becomes the default; `base_url` must be a public address."""
    return await service.create_provider_row(db, resources, user_id=principal.user_id, body=body)


@router.get(
    "/env", response_model=dict[str, str], summary="Get provider keys as environment variables"
)
async def provider_env(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, response: Response
) -> dict[str, str]:
    """Provider keys as environment variables for sandboxes (API key with `secrets:read` only)."""
    response.headers["Cache-Control"] = "no-store"
    return await opening.provider_env(db, resources, principal=principal)


@router.put("/{provider_id}", response_model=ProviderRead, summary="Update an LLM provider")
async def update_provider(
    provider_id: uuid.UUID,
    body: ProviderUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> ProviderRead:
    """Change fields; those not sent keep their value (an absent `api_key` keeps the key)."""
    return await service.update_provider(
        db, resources, user_id=principal.user_id, provider_id=provider_id, body=body
    )


@router.delete("/{provider_id}", status_code=204, summary="Delete an LLM provider")
async def delete_provider(
    provider_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    await service.delete_provider(db, user_id=principal.user_id, provider_id=provider_id)
    return Response(status_code=204)


@router.post(
    "/{provider_id}/test", response_model=ProviderTestResult, summary="Test an LLM provider"
)
async def test_provider(
    provider_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> ProviderTestResult:
    """Live check: asks the provider for its model list. Upstream failure: `success: false`."""
    return await opening.test_provider(
        db, resources, user_id=principal.user_id, provider_id=provider_id
    )
