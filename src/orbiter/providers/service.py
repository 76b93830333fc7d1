"""LLM providers a user configured: CRUD and the key at rest.

Choosing, opening and testing one for a call lives in `opening.py`.
"""

from __future__ import annotations

import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import delete_one, lost_a_race
from orbiter.core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from orbiter.core.outbound import check_url
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.llm.factory import effective_base_url
from orbiter.models import LlmProvider
from orbiter.providers.embedding import announce_if_changed, current_embedding
from orbiter.providers.schemas import (
    ModelPrice,
    ProviderCreate,
    ProviderRead,
    ProviderUpdate,
)
from orbiter.runtime.resources import Resources

MASK = "••••"
MIN_KEY_LENGTH_FOR_LAST4 = 12  # a shorter key would be mostly revealed by its last 4


# ---------------------------------------------------------------- the key at rest


def key_context(row: LlmProvider) -> str:
    """AES-GCM associated data: a ciphertext copied to another row or user does not decrypt."""
    return f"llm_providers:{row.id}:{row.user_id}"


def _set_key(resources: Resources, row: LlmProvider, api_key: str | None) -> None:
    if not api_key:
        row.api_key_encrypted = None
        row.api_key_last4 = None
        return
    row.api_key_encrypted = resources.secrets.encrypt(api_key, context=key_context(row))
    row.api_key_last4 = api_key[-4:] if len(api_key) >= MIN_KEY_LENGTH_FOR_LAST4 else None


def decrypt_key(resources: Resources, row: LlmProvider) -> str | None:
    if not row.api_key_encrypted:
        return None
    try:
        return resources.secrets.decrypt(row.api_key_encrypted, context=key_context(row))
    except InvalidTag as exc:
        raise ServiceUnavailable(
            f"The stored API key of provider {row.name!r} cannot be decrypted; set it again "
            "with PUT /api/v1/providers/{id}"
        ) from exc


def _prices(prices: dict[str, ModelPrice] | None) -> dict[str, Any] | None:
    return None if prices is None else {m: p.model_dump() for m, p in prices.items()}


def provider_read(row: LlmProvider) -> ProviderRead:
    has_key = row.api_key_encrypted is not None
    return ProviderRead(
        id=row.id,
        name=row.name,
        type=row.type,
        base_url=row.base_url,
        api_key=(MASK + (row.api_key_last4 or "")) if has_key else None,
        api_key_last4=row.api_key_last4,
        has_api_key=has_key,
        models=list(row.models or []),
        is_default=row.is_default,
        prices=row.prices,
        embedding_model=row.embedding_model,
        embedding_dimensions=row.embedding_dimensions,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# ---------------------------------------------------------------- CRUD


async def load_provider(
    db: AsyncSession, *, user_id: uuid.UUID, provider_id: uuid.UUID
) -> LlmProvider:
    row = await db.get(LlmProvider, provider_id)
    if row is None or row.user_id != user_id:
        raise NotFound("Provider not found")
    return row


async def list_providers(
    db: AsyncSession, *, user_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[ProviderRead], PageInfo]:
    stmt = select(LlmProvider).where(LlmProvider.user_id == user_id)
    rows, info = await paginate(
        db, stmt, order=[LlmProvider.created_at, LlmProvider.id], params=params, codec=codec
    )
    return [provider_read(r[0]) for r in rows], info


async def _check_base_url(resources: Resources, type_: str, base_url: str | None) -> None:
    if type_ == "openai_compatible" and not base_url:
        raise ValidationFailed.for_field("base_url", "base_url is required for openai_compatible")
    if base_url or type_ == "ollama":  # Ollama's default is loopback: say so at once
        await check_url(effective_base_url(type_, base_url), resources.settings)


async def _name_taken(
    db: AsyncSession, user_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None
) -> bool:
    stmt = select(LlmProvider.id).where(LlmProvider.user_id == user_id, LlmProvider.name == name)
    if exclude is not None:
        stmt = stmt.where(LlmProvider.id != exclude)
    return (await db.scalar(stmt.limit(1))) is not None


def _duplicate(name: str) -> Conflict:
    return Conflict(
        f"You already have a provider named {name!r}", details={"field": "name", "name": name}
    )


DEFAULT_TRIES = 3  # racing "make this the default" requests: the last one wins


async def _make_default(
    db: AsyncSession, *, user_id: uuid.UUID, provider_id: uuid.UUID, unless_one_exists: bool
) -> None:
    """Make the provider the user's one default (the database allows only one).

    `unless_one_exists`: only when the user has no default yet (their first provider); a
    concurrent first provider that committed first keeps it. A concurrent default that lands
    between our clearing and our setting makes the database refuse: look again and retry.
    """
    others = (LlmProvider.user_id == user_id) & (LlmProvider.id != provider_id)
    for _ in range(DEFAULT_TRIES):
        try:
            async with db.begin_nested():
                if unless_one_exists:
                    if await db.scalar(
                        select(LlmProvider.id).where(others, LlmProvider.is_default)
                    ):
                        return
                else:
                    await db.execute(
                        update(LlmProvider)
                        .where(others, LlmProvider.is_default)
                        .values(is_default=False)
                        .execution_options(synchronize_session=False)
                    )
                await db.execute(
                    update(LlmProvider)
                    .where(LlmProvider.id == provider_id)
                    .values(is_default=True)
                    .execution_options(synchronize_session=False)
                )
            return
        except DBAPIError as exc:
            if not lost_a_race(exc):
                raise
    raise Conflict("The default provider changed during this request; try again")


async def _flush_unique(db: AsyncSession, row: LlmProvider) -> None:
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError as exc:  # a concurrent request took the name first
        raise _duplicate(row.name) from exc


async def create_provider_row(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, body: ProviderCreate
) -> ProviderRead:
    await _check_base_url(resources, body.type, body.base_url)
    if await _name_taken(db, user_id, body.name):
        raise _duplicate(body.name)
    has_any = await db.scalar(select(LlmProvider.id).where(LlmProvider.user_id == user_id).limit(1))
    before = await current_embedding(db, user_id)
    row = LlmProvider(
        id=uuid.uuid4(),
        user_id=user_id,
        name=body.name,
        type=body.type,
        base_url=body.base_url,
        models=list(dict.fromkeys(body.models)),
        is_default=False,
        prices=_prices(body.prices),
        embedding_model=body.embedding_model,
        embedding_dimensions=body.embedding_dimensions,
    )
    _set_key(resources, row, body.api_key)
    await _flush_unique(db, row)
    if body.is_default or has_any is None:  # the first one is the default
        await _make_default(
            db, user_id=user_id, provider_id=row.id, unless_one_exists=not body.is_default
        )
    await announce_if_changed(db, user_id, before)
    await db.refresh(row)
    return provider_read(row)


async def update_provider(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    provider_id: uuid.UUID,
    body: ProviderUpdate,
) -> ProviderRead:
    row = await load_provider(db, user_id=user_id, provider_id=provider_id)
    before = await current_embedding(db, user_id)
    sent = body.model_fields_set
    type_ = body.type if body.type is not None else row.type
    base_url = body.base_url if "base_url" in sent else row.base_url
    if {"type", "base_url"} & sent:
        await _check_base_url(resources, type_, base_url)
    if body.name is not None and body.name != row.name:
        if await _name_taken(db, user_id, body.name, exclude=row.id):
            raise _duplicate(body.name)
        row.name = body.name
    row.type, row.base_url = type_, base_url
    if body.models is not None:
        row.models = list(dict.fromkeys(body.models))
    if "prices" in sent:
        row.prices = _prices(body.prices)
    for name in ("embedding_model", "embedding_dimensions"):
        if name in sent:
            setattr(row, name, getattr(body, name))
    if row.type == "anthropic" and row.embedding_model:
        raise ValidationFailed.for_field(
            "embedding_model", "Anthropic has no embeddings API", type_="value_error"
        )
    if body.api_key is not None:  # absent or null: keep; "": remove
        _set_key(resources, row, body.api_key)
    if body.is_default is False:
        row.is_default = False
    await _flush_unique(db, row)
    if body.is_default:
        await _make_default(db, user_id=user_id, provider_id=row.id, unless_one_exists=False)
    await announce_if_changed(db, user_id, before)
    await db.refresh(row)
    return provider_read(row)


async def delete_provider(db: AsyncSession, *, user_id: uuid.UUID, provider_id: uuid.UUID) -> None:
    row = await load_provider(db, user_id=user_id, provider_id=provider_id)
    before = await current_embedding(db, user_id)
    await delete_one(
        db, delete(LlmProvider).where(LlmProvider.id == row.id), missing="Provider not found"
    )
    await announce_if_changed(db, user_id, before)
