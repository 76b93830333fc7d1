"""A project's provisioned resources (databases, caches), their connection info sealed.

For the deploy pipeline:

    made = await provision_resource(
        db, resources, project_id=..., resource_type=ResourceType.REDIS, provider="local",
        created_by=user_id,
    )
    made.env          # {"REDIS_URL": "redis://127.0.0.1:6379/3"}: set it in the app's env
    made.created      # False: the project had one already (nothing was provisioned)
    env = await resource_env(db, resources, project_id=...)  # every resource's variables

`provision_resource` does not check the caller's role (the pipeline checked that the user may
deploy the project); `CannotProvision` (422) says why a provider cannot make a type (e.g. the
local provider and PostgreSQL, or no Redis configured). Deleting a resource destroys it at its
provider first; if that fails the row stays and the error says why.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cryptography.exceptions import InvalidTag
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import delete_one
from orbiter.core.errors import NotFound, ServiceUnavailable
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.infrastructure.providers import (
    CannotProvision,
    ProvisionRequest,
    ResourceType,
    StoredResource,
    get_provider,
    providers_for,
)
from orbiter.infrastructure.resources.schemas import ResourceRead
from orbiter.models import InfraResource, Role
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project

MASK = "••••"


@dataclass(frozen=True)
class ProjectResource:
    id: uuid.UUID
    provider: str
    resource_type: str
    name: str
    env: dict[str, str]
    details: dict[str, Any]
    created: bool


def connection_context(row: InfraResource) -> str:
    return f"infrastructure_resources:{row.id}:{row.project_id}"


def _seal(resources: Resources, row: InfraResource, secret: dict[str, Any]) -> None:
    row.connection_encrypted = resources.secrets.encrypt(
        json.dumps(secret), context=connection_context(row)
    )


def _open(resources: Resources, row: InfraResource) -> dict[str, dict[str, str]]:
    try:
        raw = resources.secrets.decrypt(row.connection_encrypted, context=connection_context(row))
    except InvalidTag as exc:
        raise ServiceUnavailable(
            f"The connection info of resource {row.name!r} cannot be decrypted"
        ) from exc
    opened: dict[str, dict[str, str]] = json.loads(raw)
    return opened


def mask(value: str) -> str:
    """A URL keeps its scheme, host, port and path with the password hidden; anything else
    is hidden whole."""
    if "://" not in value:
        return MASK
    parts = urlsplit(value)
    host = parts.hostname
    if not host:  # a file path (sqlite:////srv/...): where it is stays private
        return f"{parts.scheme}://{MASK}"
    netloc = f"{host}:{parts.port}" if parts.port else host
    if parts.password is not None or parts.username:
        netloc = f"{parts.username or ''}:{MASK}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def resource_read(resources: Resources, row: InfraResource) -> ResourceRead:
    secret = _open(resources, row)
    return ResourceRead(
        id=row.id,
        project_id=row.project_id,
        provider=row.provider,
        resource_type=row.resource_type,
        name=row.name,
        details=row.details,
        connection={k: mask(v) for k, v in secret["connection"].items()},
        env_vars=sorted(secret["env"]),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _by_name(db: AsyncSession, project_id: uuid.UUID, name: str) -> InfraResource | None:
    stmt = select(InfraResource).where(
        InfraResource.project_id == project_id, InfraResource.name == name
    )
    return (await db.scalars(stmt)).first()


def _project_resource(resources: Resources, row: InfraResource, created: bool) -> ProjectResource:
    return ProjectResource(
        id=row.id,
        provider=row.provider,
        resource_type=row.resource_type,
        name=row.name,
        env=_open(resources, row)["env"],
        details=row.details,
        created=created,
    )


async def provision_resource(
    db: AsyncSession,
    resources: Resources,
    *,
    project_id: uuid.UUID,
    resource_type: ResourceType,
    provider: str = "local",
    name: str | None = None,
    created_by: uuid.UUID | None = None,
) -> ProjectResource:
    """The project's resource called `name` (default: the type), provisioned when missing."""
    name = name or str(resource_type)
    existing = await _by_name(db, project_id, name)
    if existing is not None:
        return _project_resource(resources, existing, created=False)
    maker = get_provider(provider, resources.settings)
    if not maker.supports(resource_type):
        able = providers_for(resource_type, resources.settings)
        raise CannotProvision(
            f"The {provider} provider cannot provision {resource_type}; "
            + (f"these can: {', '.join(able)}" if able else "no registered provider can"),
            provider=provider,
            resource_type=resource_type,
        )
    row = InfraResource(
        id=uuid.uuid4(),
        project_id=project_id,
        created_by=created_by,
        provider=provider,
        resource_type=str(resource_type),
        name=name,
    )
    made = await maker.provision(_request(row.id, project_id, resource_type, name))
    row.details = made.details
    _seal(resources, row, {"connection": made.connection, "env": made.env})
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:  # a concurrent deploy made it first: keep theirs, undo ours
        await maker.destroy(_stored(row, made.connection))
        winner = await _by_name(db, project_id, name)
        if winner is None:
            raise
        return _project_resource(resources, winner, created=False)
    return _project_resource(resources, row, created=True)


def _request(
    resource_id: uuid.UUID, project_id: uuid.UUID, resource_type: ResourceType, name: str
) -> ProvisionRequest:
    return ProvisionRequest(
        resource_type=resource_type, resource_id=resource_id, project_id=project_id, name=name
    )


def _stored(row: InfraResource, connection: dict[str, str]) -> StoredResource:
    return StoredResource(
        resource_id=row.id,
        resource_type=row.resource_type,
        details=row.details,
        connection=connection,
    )


async def resource_env(
    db: AsyncSession, resources: Resources, *, project_id: uuid.UUID
) -> dict[str, str]:
    """Every environment variable the project's resources provide (for a deploy)."""
    rows = await db.scalars(
        select(InfraResource)
        .where(InfraResource.project_id == project_id)
        .order_by(InfraResource.created_at, InfraResource.id)
    )
    env: dict[str, str] = {}
    for row in rows:
        env.update(_open(resources, row)["env"])
    return env


async def list_resources(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[ResourceRead], PageInfo]:
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = select(InfraResource).where(InfraResource.project_id == project_id)
    rows, info = await paginate(
        db, stmt, order=[InfraResource.created_at, InfraResource.id], params=params, codec=codec
    )
    return [resource_read(resources, r[0]) for r in rows], info


async def _load(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    resource_id: uuid.UUID,
    min_role: Role,
) -> InfraResource:
    await load_project(db, user_id=user_id, project_id=project_id, min_role=min_role)
    row = await db.get(InfraResource, resource_id)
    if row is None or row.project_id != project_id:
        raise NotFound("Resource not found")
    return row


async def get_resource(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    resource_id: uuid.UUID,
) -> ResourceRead:
    row = await _load(
        db, user_id=user_id, project_id=project_id, resource_id=resource_id, min_role=Role.VIEWER
    )
    return resource_read(resources, row)


async def delete_resource(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    resource_id: uuid.UUID,
) -> None:
    """Destroy it at its provider, then forget it; a provider failure keeps the row."""
    row = await _load(
        db, user_id=user_id, project_id=project_id, resource_id=resource_id, min_role=Role.EDITOR
    )
    provider = get_provider(row.provider, resources.settings)
    await provider.destroy(_stored(row, _open(resources, row)["connection"]))
    await delete_one(
        db, delete(InfraResource).where(InfraResource.id == row.id), missing="Resource not found"
    )
