"""Deploy providers by name: `local` (built in) and `github`; a cloud provider is one more
entry in `PROVIDERS` (a class taking the settings and implementing `base.InfraProvider`)."""

from __future__ import annotations

from collections.abc import Callable

from orbiter.core.errors import ValidationFailed
from orbiter.core.settings import Settings
from orbiter.infrastructure.providers.base import (
    CannotProvision,
    InfraProvider,
    InvalidCredential,
    ProviderFailed,
    Provisioned,
    ProvisionRequest,
    ResourceType,
    StoredResource,
)
from orbiter.infrastructure.providers.github import GitHubProvider
from orbiter.infrastructure.providers.local import LocalProvider

ProviderFactory = Callable[[Settings], InfraProvider]

PROVIDERS: dict[str, ProviderFactory] = {
    "local": LocalProvider,
    "github": GitHubProvider,
}


def get_provider(name: str, settings: Settings, *, field: str = "provider") -> InfraProvider:
    """The provider registered as `name`; 422 on `field` naming the known ones otherwise."""
    factory = PROVIDERS.get(name)
    if factory is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ValidationFailed.for_field(field, f"Unknown provider {name!r} (known: {known})")
    return factory(settings)


def providers_for(resource_type: ResourceType, settings: Settings) -> list[str]:
    """The names of the registered providers that can make `resource_type`."""
    return [n for n, make in PROVIDERS.items() if make(settings).supports(resource_type)]


__all__ = [
    "PROVIDERS",
    "CannotProvision",
    "InfraProvider",
    "InvalidCredential",
    "ProviderFailed",
    "ProvisionRequest",
    "Provisioned",
    "ResourceType",
    "StoredResource",
    "get_provider",
    "providers_for",
]
