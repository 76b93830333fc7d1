"""The one interface every deploy provider implements, so a cloud provider is a plug-in.

A provider answers four questions: is this token good (`validate`), can you make this kind of
resource (`supports`), make one (`provision`), and remove one (`destroy`). Registered by name
in `orbiter.infrastructure.providers` (`PROVIDERS`); nothing else refers to a provider's class.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from orbiter.core.errors import UpstreamError, ValidationFailed


class ResourceType(StrEnum):
    """Resources a project may need; `detect` suggests them, a provider makes them."""

    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    MONGODB = "mongodb"
    REDIS = "redis"
    SQLITE = "sqlite"


@dataclass(frozen=True)
class ProvisionRequest:
    """What a provider is asked to make: the resource's id (already chosen, so a provider can
    name things after it) and the project it is for."""

    resource_type: ResourceType
    resource_id: uuid.UUID
    project_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class Provisioned:
    """A resource the provider made.

    `connection`: secrets (stored encrypted, never shown unmasked); `env`: the environment
    variables an app reads it by (e.g. `DATABASE_URL`), also secret; `details`: what may be
    shown (a database number, a file name).
    """

    connection: dict[str, str]
    env: dict[str, str]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredResource:
    """A provisioned resource as stored, handed back to its provider to destroy it."""

    resource_id: uuid.UUID
    resource_type: str
    details: dict[str, Any]
    connection: dict[str, str]


class InfraProvider(Protocol):
    name: str
    needs_token: bool  # False: built in, no credential to store (`local`)

    def supports(self, resource_type: ResourceType) -> bool: ...

    async def validate(self, token: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """What the token belongs to (shown in the credential listing, e.g. a login). `InvalidCredential` when the provider refuses it,
        `UpstreamError` when the provider cannot be reached or fails."""

    async def provision(self, request: ProvisionRequest) -> Provisioned:
        """Make the resource; `CannotProvision` when this provider cannot make that type here."""

    async def destroy(self, resource: StoredResource) -> None:
        """Remove it (gone already counts as removed); `UpstreamError` when that failed."""


class InvalidCredential(ValidationFailed):
    """The provider refused the token (422 on `api_token`)."""

    def __init__(self, message: str) -> None:
        super().__init__(
            message,
            details={"fields": [{"field": "api_token", "message": message, "type": "refused"}]},
        )


class CannotProvision(ValidationFailed):
    """This provider cannot make this resource type here (422, the message says why)."""

    def __init__(self, message: str, *, provider: str, resource_type: str) -> None:
        super().__init__(message, details={"provider": provider, "resource_type": resource_type})


class ProviderFailed(UpstreamError):
    """The provider failed while doing what it was asked (502)."""
