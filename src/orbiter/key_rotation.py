"""`orbiter rotate-keys`: every secret at rest encrypted again with the newest key.

List the new key first in `ORBITER_ENCRYPTION_KEYS` (keeping the old ones), run this, then the
old keys can be dropped. Rows are read in batches by id; each is rewritten only if it still
holds the ciphertext that was read (a compare-and-set), so a value changed meanwhile by the
running app (which already encrypts with the newest key) is left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orbiter.alerts.signing import secret_context as alert_secret_context
from orbiter.core.crypto import SecretBox, reseal
from orbiter.core.db import transaction
from orbiter.core.errors import ServiceUnavailable
from orbiter.env_vars.service import value_context as env_var_context
from orbiter.infrastructure.credentials.service import token_context as infra_token_context
from orbiter.infrastructure.resources.service import connection_context as infra_connection_context
from orbiter.models import AlertRule, EnvVar, InfraCredential, InfraResource, LlmProvider, Tool
from orbiter.providers.service import key_context
from orbiter.tools.secrets import secrets_context as tool_secrets_context

BATCH_SIZE = 500


@dataclass(frozen=True)
class SealedColumn:
    """A column of ciphertexts and the associated data each row's ciphertext is bound to."""

    label: str
    model: Any
    column: str
    context: Callable[[Any], str]


SEALED_COLUMNS = (
    SealedColumn(
        "env var values",
        EnvVar,
        "value_encrypted",
        lambda row: env_var_context(row.project_id, row.key),
    ),
    SealedColumn("provider API keys", LlmProvider, "api_key_encrypted", key_context),
    SealedColumn(
        "tool secret headers", Tool, "secrets_encrypted", lambda row: tool_secrets_context(row.id)
    ),
    SealedColumn(
        "alert webhook secrets",
        AlertRule,
        "secret_encrypted",
        lambda row: alert_secret_context(row.id),
    ),
    SealedColumn(
        "infrastructure credentials", InfraCredential, "token_encrypted", infra_token_context
    ),
    SealedColumn(
        "infrastructure resources",
        InfraResource,
        "connection_encrypted",
        infra_connection_context,
    ),
)


@dataclass
class Rotated:
    rotated: int = 0
    current: int = 0
    failed: int = 0  # ciphertexts no configured key opens


async def rotate_keys(
    sessionmaker: async_sessionmaker[AsyncSession], box: SecretBox, batch_size: int = BATCH_SIZE
) -> dict[str, Rotated]:
    counts: dict[str, Rotated] = {}
    for sealed in SEALED_COLUMNS:
        counts[sealed.label] = count = Rotated()
        after: uuid.UUID | None = None
        while True:
            async with transaction(sessionmaker) as db:
                rows = await _batch(db, sealed, after, batch_size)
                for row in rows:
                    await _rotate_row(db, sealed, box, row, count)
            if len(rows) < batch_size:
                break
            after = rows[-1].id
    return counts


async def _batch(
    db: AsyncSession, sealed: SealedColumn, after: uuid.UUID | None, size: int
) -> list[Any]:
    model, column = sealed.model, getattr(sealed.model, sealed.column)
    query = select(model).where(column.is_not(None)).order_by(model.id).limit(size)
    if after is not None:
        query = query.where(model.id > after)
    return list((await db.scalars(query)).all())


async def _rotate_row(
    db: AsyncSession, sealed: SealedColumn, box: SecretBox, row: Any, count: Rotated
) -> None:
    old = getattr(row, sealed.column)
    try:
        new = reseal(box, old, context=sealed.context(row))
    except (InvalidTag, ServiceUnavailable, ValueError):
        count.failed += 1
        return
    if new is None:
        count.current += 1
        return
    column = getattr(sealed.model, sealed.column)
    result = await db.execute(
        update(sealed.model)
        .where(sealed.model.id == row.id, column == old)
        .values({sealed.column: new})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        count.rotated += 1
    else:  # rewritten meanwhile, by the app, with the newest key
        count.current += 1
