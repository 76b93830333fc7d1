"""A user's credential per deploy provider: validated with the provider before it is saved,
the token sealed with AES-GCM (bound to the row and user), never returned; one per provider
per user, replaced when posted again."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.crypto import SecretBox
from orbiter.core.db import delete_one
from orbiter.core.errors import ServiceUnavailable, ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.infrastructure.credentials.schemas import (
    CredentialCreate,
    CredentialRead,
    CredentialSaved,
)
from orbiter.infrastructure.providers import get_provider
from orbiter.models import InfraCredential
from orbiter.runtime.resources import Resources

SAVE_TRIES = 3  # concurrent first posts for one provider: the loser updates the winner's row


@dataclass(frozen=True)
class StoredCredential:
    token: str
    metadata: dict[str, Any]
    account: dict[str, Any]


def token_context(row: InfraCredential) -> str:
    """AES-GCM associated data: a ciphertext copied to another row or user does not decrypt."""
    return f"infrastructure_credentials:{row.id}:{row.user_id}"


def credential_read(row: InfraCredential) -> CredentialRead:
    return CredentialRead(
        id=row.id,
        provider=row.provider,
        metadata=row.settings,
        account=row.account,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _row(db: AsyncSession, user_id: uuid.UUID, provider: str) -> InfraCredential | None:
    stmt = select(InfraCredential).where(
        InfraCredential.user_id == user_id, InfraCredential.provider == provider
    )
    return (await db.scalars(stmt)).first()


async def save_credential(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, body: CredentialCreate
) -> tuple[CredentialSaved, bool]:
    """Validate the token with the provider, then store it; (result, whether it is new).

    A token the provider refuses: 422 on `api_token`; the provider unreachable or failing: 502.
    """
    provider = get_provider(body.provider, resources.settings)
    if not provider.needs_token:
        raise ValidationFailed.for_field(
            "provider", f"The {body.provider} provider is built in and needs no credential"
        )
    account = await provider.validate(body.api_token, body.metadata)
    for _ in range(SAVE_TRIES):
        row = await _row(db, user_id, body.provider)
        created = row is None
        if row is None:
            row = InfraCredential(id=uuid.uuid4(), user_id=user_id, provider=body.provider)
        row.settings, row.account = dict(body.metadata), account
        row.token_encrypted = resources.secrets.encrypt(body.api_token, context=token_context(row))
        try:
            async with db.begin_nested():
                db.add(row)
                await db.flush()
        except IntegrityError:
            continue  # a concurrent post made the row first: replace its token
        return CredentialSaved(success=True, id=row.id), created
    raise ServiceUnavailable("The credential kept changing during this request; try again")


async def list_credentials(
    db: AsyncSession, *, user_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[CredentialRead], PageInfo]:
    stmt = select(InfraCredential).where(InfraCredential.user_id == user_id)
    rows, info = await paginate(
        db, stmt, order=[InfraCredential.created_at, InfraCredential.id], params=params, codec=codec
    )
    return [credential_read(r[0]) for r in rows], info


async def delete_credential(db: AsyncSession, *, user_id: uuid.UUID, provider: str) -> None:
    await delete_one(
        db,
        delete(InfraCredential).where(
            InfraCredential.user_id == user_id, InfraCredential.provider == provider
        ),
        missing=f"No {provider} credential",
    )


async def credential_for(
    db: AsyncSession, user_id: uuid.UUID, provider: str, *, secrets: SecretBox
) -> StoredCredential | None:
    """The user's credential for `provider` (token decrypted), or None when there is none."""
    row = await _row(db, user_id, provider)
    if row is None:
        return None
    try:
        token = secrets.decrypt(row.token_encrypted, context=token_context(row))
    except InvalidTag as exc:
        raise ServiceUnavailable(
            f"The stored {provider} credential cannot be decrypted; post it again with "
            "POST /api/v1/infrastructure/credentials"
        ) from exc
    return StoredCredential(token=token, metadata=dict(row.settings), account=dict(row.account))


async def credential_token(
    db: AsyncSession, user_id: uuid.UUID, provider: str, *, secrets: SecretBox
) -> str | None:
    """The user's token for `provider`, or None when they stored none."""
    found = await credential_for(db, user_id, provider, secrets=secrets)
    return None if found is None else found.token
