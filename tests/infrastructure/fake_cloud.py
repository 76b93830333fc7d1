"""A cloud provider plug-in for tests: it 'provisions' PostgreSQL (a made-up URL with a
password) and can be told to fail destroying, or to be down while validating tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orbiter.core.errors import UpstreamError
from orbiter.core.settings import Settings
from orbiter.infrastructure.providers import (
    InvalidCredential,
    ProviderFailed,
    Provisioned,
    ProvisionRequest,
    ResourceType,
    StoredResource,
)

GOOD_TOKEN = "cloud-token-good-0001"


@dataclass
class CloudState:
    down: bool = False
    fail_destroy: bool = False
    destroyed: list[str] = field(default_factory=list)


STATE = CloudState()


class FakeCloud:
    name = "fakecloud"
    needs_token = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def supports(self, resource_type: ResourceType) -> bool:
        return resource_type == ResourceType.POSTGRESQL

    async def validate(self, token: str, metadata: dict[str, Any]) -> dict[str, Any]:
        if STATE.down:
            raise UpstreamError("fakecloud is down (503)")
        if token != GOOD_TOKEN:
            raise InvalidCredential("fakecloud refused this token")
        return {"team": "acme"}

    async def provision(self, request: ProvisionRequest) -> Provisioned:
        url = f"postgresql://app:s3cret-{request.resource_id.hex[:8]}@db.cloud.test:5432/app"
        return Provisioned(
            connection={"url": url}, env={"DATABASE_URL": url}, details={"region": "eu"}
        )

    async def destroy(self, resource: StoredResource) -> None:
        if STATE.fail_destroy:
            raise ProviderFailed("fakecloud could not delete the database (500)")
        STATE.destroyed.append(str(resource.resource_id))
