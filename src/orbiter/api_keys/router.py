"""/api/v1/api-keys: the caller's own API keys (for CI jobs)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from orbiter.api_keys import service
from orbiter.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.errors import Forbidden
from orbiter.core.pagination import Page
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/api-keys", tags=["api-keys"])


@router.get("", response_model=Page[ApiKeyRead], summary="List API keys")
async def list_api_keys(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, page: PageParamsDep
) -> Page[ApiKeyRead]:
    """The caller's keys, newest first (never the key itself)."""
    keys, info = await service.list_api_keys(
        db, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=[ApiKeyRead.model_validate(k) for k in keys], pagination=info)


@router.post("", status_code=201, response_model=ApiKeyCreated, summary="Create an API key")
async def create_api_key(
    body: ApiKeyCreate, principal: CurrentPrincipal, db: DbSession
) -> ApiKeyCreated:
    """Create a key; `key` is in this response only, so store it now."""
    if principal.method == "api_key":  # else a key could mint one with more scopes or no expiry
        raise Forbidden("API keys cannot create API keys; sign in to create one")
    api_key, raw = await service.create_api_key(
        db,
        user_id=principal.user_id,
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=raw)


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    await service.revoke_api_key(db, user_id=principal.user_id, key_id=key_id)
    return Response(status_code=204)
