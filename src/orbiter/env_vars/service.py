"""Project environment variables, encrypted at rest and masked when secret.

Each value is sealed with AES-GCM (`core.crypto.SecretBox`) with the project id and key as
associated data, so a ciphertext copied to another row or project no longer opens. Writes lock
the project row, so concurrent upserts of one project run one after another.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.auth.principal import Principal
from orbiter.core.crypto import SecretBox
from orbiter.core.errors import Conflict, NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.env_vars.schemas import EnvVarRead, EnvVarSet, EnvVarValue, is_valid_key
from orbiter.models import EnvVar, Role
from orbiter.tenancy.access import load_project
from orbiter.tenancy.events import record_event

MAX_VARIABLES_PER_PROJECT = 1000


class UndecryptableValue(RuntimeError):
    """A stored ciphertext failed authentication: tampered with, or copied from another row.

    Deliberately not an AppError: the client gets the generic 500 with a request id, and the
    log (written by the outermost middleware) names the project and key for the operator."""


def value_context(project_id: uuid.UUID, key: str) -> str:
    """What an env var value is sealed with: its project and key (moving it breaks the seal)."""
    return f"env_var:{project_id}:{key}"


def _seal(box: SecretBox, project_id: uuid.UUID, key: str, value: str) -> str:
    return box.encrypt(value, context=value_context(project_id, key))


def _open(box: SecretBox, row: EnvVar) -> str:
    try:
        return box.decrypt(row.value_encrypted, context=value_context(row.project_id, row.key))
    except (InvalidTag, ValueError) as exc:
        raise UndecryptableValue(
            f"env var {row.key!r} of project {row.project_id} does not decrypt under its own "
            "project and key"
        ) from exc


def _read(box: SecretBox, row: EnvVar) -> EnvVarRead:
    return EnvVarRead(
        id=row.id,
        project_id=row.project_id,
        key=row.key,
        value=None if row.is_secret else _open(box, row),
        is_secret=row.is_secret,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_env_vars(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    box: SecretBox,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[EnvVarRead], PageInfo]:
    """Every member may list; secret values come back as null, others in clear."""
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = select(EnvVar).where(EnvVar.project_id == project_id)
    rows, info = await paginate(
        db,
        stmt,
        order=[EnvVar.key, EnvVar.id],
        params=params,
        codec=codec,
        descending=False,
    )
    return [_read(box, row[0]) for row in rows], info


async def _upsert(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    box: SecretBox,
    items: Sequence[EnvVarSet],
) -> tuple[list[EnvVar], list[str]]:
    """Create or update every item (keys already unique); returns the rows and the new keys."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR, lock=True)
    keys = [item.key for item in items]
    stmt = select(EnvVar).where(EnvVar.project_id == project_id, EnvVar.key.in_(keys))
    existing = {row.key: row for row in (await db.scalars(stmt)).all()}
    created = [key for key in keys if key not in existing]
    if created:
        current = await db.scalar(
            select(func.count()).select_from(EnvVar).where(EnvVar.project_id == project_id)
        )
        if (current or 0) + len(created) > MAX_VARIABLES_PER_PROJECT:
            raise Conflict(
                f"A project holds at most {MAX_VARIABLES_PER_PROJECT} environment variables",
                details={"limit": MAX_VARIABLES_PER_PROJECT, "current": current or 0},
            )
    rows: list[EnvVar] = []
    for item in items:
        sealed = _seal(box, project_id, item.key, item.value)
        row = existing.get(item.key)
        if row is None:
            row = EnvVar(
                project_id=project_id,
                key=item.key,
                value_encrypted=sealed,
                is_secret=True if item.is_secret is None else item.is_secret,
            )
            db.add(row)
        else:
            row.value_encrypted = sealed
            if item.is_secret is not None:
                row.is_secret = item.is_secret
        rows.append(row)
    await record_event(
        db,
        project_id=project_id,
        actor_id=user_id,
        type="env_vars.set",
        data={"created": created, "updated": [key for key in keys if key in existing]},
    )
    await db.flush()
    return rows, created


async def set_env_var(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    box: SecretBox,
    item: EnvVarSet,
) -> tuple[EnvVarRead, bool]:
    """Upsert one variable (editor or owner); returns it masked and whether it is new."""
    rows, created = await _upsert(db, user_id=user_id, project_id=project_id, box=box, items=[item])
    return _read(box, rows[0]), bool(created)


async def set_env_vars(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    box: SecretBox,
    items: Sequence[EnvVarSet],
) -> int:
    """Upsert many variables in this one transaction; variables not named stay as they are."""
    rows, _ = await _upsert(db, user_id=user_id, project_id=project_id, box=box, items=items)
    return len(rows)


async def delete_env_var(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, key: str
) -> None:
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR, lock=True)
    if not is_valid_key(key):  # could never have been stored; also keeps NUL away from SQL
        raise NotFound("Environment variable not found")
    result = await db.execute(
        delete(EnvVar).where(EnvVar.project_id == project_id, EnvVar.key == key)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("Environment variable not found")
    await record_event(
        db, project_id=project_id, actor_id=user_id, type="env_vars.deleted", data={"keys": [key]}
    )


async def reveal_values(
    db: AsyncSession,
    *,
    principal: Principal,
    project_id: uuid.UUID,
    box: SecretBox,
) -> list[EnvVarValue]:
    """Every value in clear, for deployments: an editor's or owner's API key with
    `secrets:read`. Strangers get NotFound before the scope check, so the answer never tells
    them the project exists."""
    user_id = principal.user_id
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    principal.require_secret_scope()
    stmt = select(EnvVar).where(EnvVar.project_id == project_id).order_by(EnvVar.key)
    rows = list((await db.scalars(stmt)).all())
    values = [EnvVarValue(key=r.key, value=_open(box, r), is_secret=r.is_secret) for r in rows]
    await record_event(
        db,
        project_id=project_id,
        actor_id=user_id,
        type="env_vars.values_read",
        data={"count": len(values)},
    )
    return values


async def deploy_values(
    db: AsyncSession, *, project_id: uuid.UUID, box: SecretBox
) -> dict[str, str]:
    """Every value in clear, for the deploy pipeline's app environment (the pipeline checked
    that the deployment's author may deploy the project)."""
    rows = await db.scalars(select(EnvVar).where(EnvVar.project_id == project_id))
    return {row.key: _open(box, row) for row in rows}
