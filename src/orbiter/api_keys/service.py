"""API keys for CI: `orb_<secret>`, stored as a SHA-256 hash with a display prefix."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.auth.principal import DEFAULT_API_KEY_SCOPES
from orbiter.core.errors import NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.security import hash_secret, new_secret
from orbiter.models import ApiKey

KEY_PREFIX = "orb_"
DISPLAY_PREFIX_LENGTH = 12


async def create_api_key(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    name: str,
    scopes: Sequence[str] | None,
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    raw = KEY_PREFIX + new_secret(32)
    api_key = ApiKey(
        user_id=user_id,
        name=name,
        prefix=raw[:DISPLAY_PREFIX_LENGTH],
        key_hash=hash_secret(raw),
        scopes=sorted(set(scopes if scopes is not None else DEFAULT_API_KEY_SCOPES)),
        expires_at=expires_at,
    )
    db.add(api_key)
    await db.flush()
    return api_key, raw


async def list_api_keys(
    db: AsyncSession, *, user_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[ApiKey], PageInfo]:
    stmt = select(ApiKey).where(ApiKey.user_id == user_id)
    rows, info = await paginate(
        db, stmt, order=[ApiKey.created_at, ApiKey.id], params=params, codec=codec
    )
    return [row[0] for row in rows], info


async def revoke_api_key(db: AsyncSession, *, user_id: uuid.UUID, key_id: uuid.UUID) -> None:
    result = await db.execute(delete(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("API key not found")
