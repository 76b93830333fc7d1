"""Using a provider the user configured: choosing one, opening its adapter, testing it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.auth.principal import Principal
from orbiter.core.errors import AppError, ServiceUnavailable
from orbiter.llm.base import Provider
from orbiter.llm.factory import DEFAULT_MODELS, ENV_NAMES, create_provider, effective_base_url
from orbiter.models import LlmProvider
from orbiter.providers.schemas import ProviderTestResult
from orbiter.providers.service import decrypt_key, load_provider
from orbiter.runtime.resources import Resources

EXAMPLE_PROVIDER = {
    "name": "openai",
    "type": "openai",
    "api_key": "sk-...",
    "models": ["gpt-4o-mini"],
    "is_default": True,
}
NO_PROVIDER_MESSAGE = (
    "No LLM provider is configured. Add one with POST /api/v1/providers, for example "
    '{"name": "openai", "type": "openai", "api_key": "sk-...", "models": ["gpt-4o-mini"], '
    '"is_default": true} (types: openai, anthropic, openai_compatible with base_url, ollama)'
)


def no_provider() -> ServiceUnavailable:
    return ServiceUnavailable(
        NO_PROVIDER_MESSAGE,
        details={
            "how_to_fix": {"method": "POST", "path": "/api/v1/providers", "body": EXAMPLE_PROVIDER}
        },
    )


@dataclass
class OpenedProvider:
    """A ready adapter for one call; close it (`async with opened:`) to release connections."""

    provider: Provider
    row: LlmProvider
    model: str

    async def close(self) -> None:
        await self.provider.close()

    async def __aenter__(self) -> OpenedProvider:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def choose_provider(
    db: AsyncSession, *, user_id: uuid.UUID, provider_id: uuid.UUID | None = None
) -> LlmProvider:
    """The given provider (404 when not the caller's), else the default, else the oldest."""
    if provider_id is not None:
        return await load_provider(db, user_id=user_id, provider_id=provider_id)
    row = await db.scalar(
        select(LlmProvider)
        .where(LlmProvider.user_id == user_id)
        .order_by(LlmProvider.is_default.desc(), LlmProvider.created_at, LlmProvider.id)
        .limit(1)
    )
    if row is None:
        raise no_provider()
    return row


async def user_provider(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    provider_id: uuid.UUID | None = None,
    model: str | None = None,
) -> tuple[LlmProvider, str]:
    """What a saved configuration (an agent, a workflow node) runs on for `user_id`: the named
    provider when that user owns it, else their default one (503 when they have none); `model`
    goes with the named provider (or with the default one when none is named), else the
    provider's default model."""
    row = None
    if provider_id is not None:
        candidate = await db.get(LlmProvider, provider_id)
        row = candidate if candidate is not None and candidate.user_id == user_id else None
    if row is None:
        row = await choose_provider(db, user_id=user_id)
    own_model = provider_id is None or row.id == provider_id
    return row, (model if model and own_model else default_model(row))


def adapter_for(resources: Resources, row: LlmProvider) -> Provider:
    return create_provider(
        type_=row.type,
        base_url=row.base_url,
        api_key=decrypt_key(resources, row),
        settings=resources.settings,
        label=f"LLM provider {row.name!r}",
    )


def default_model(row: LlmProvider) -> str:
    return row.models[0] if row.models else DEFAULT_MODELS.get(row.type, "gpt-4o-mini")


async def open_provider(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    provider_id: uuid.UUID | None = None,
    model: str | None = None,
) -> OpenedProvider:
    """Pick a provider (see `choose_provider`) and its model, and build its adapter.

    Model: the given one, else the provider's first listed model, else a default per type.
    Raises NotFound (404), ServiceUnavailable (503, no provider; the message says how to add
    one). Upstream failures come later, from the adapter, as UpstreamError (502).
    """
    row = await choose_provider(db, user_id=user_id, provider_id=provider_id)
    return OpenedProvider(
        provider=adapter_for(resources, row), row=row, model=model or default_model(row)
    )


async def test_provider(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, provider_id: uuid.UUID
) -> ProviderTestResult:
    """Ask the provider for its model list; an upstream failure is a result, not an error."""
    row = await load_provider(db, user_id=user_id, provider_id=provider_id)
    started = time.perf_counter()
    try:
        async with OpenedProvider(adapter_for(resources, row), row, default_model(row)) as opened:
            models = await opened.provider.list_models()
    except AppError as exc:
        elapsed = round((time.perf_counter() - started) * 1000)
        return ProviderTestResult(success=False, latency_ms=elapsed, error=exc.message)
    elapsed = round((time.perf_counter() - started) * 1000)
    return ProviderTestResult(success=True, latency_ms=elapsed, models=models)


async def provider_env(
    db: AsyncSession, resources: Resources, *, principal: Principal
) -> dict[str, str]:
    """OPENAI_API_KEY, ANTHROPIC_API_KEY, ... from the default provider of each kind, for an
    API key with `secrets:read` only.

    Per variable the default provider wins, then the oldest. Base URLs are included only
    when they differ from the SDK's own default.
    """
    principal.require_secret_scope()
    rows = (
        await db.scalars(
            select(LlmProvider)
            .where(LlmProvider.user_id == principal.user_id)
            .order_by(LlmProvider.is_default.desc(), LlmProvider.created_at, LlmProvider.id)
        )
    ).all()
    env: dict[str, str] = {}
    for row in rows:
        key_name, url_name = ENV_NAMES[row.type]
        if key_name in env or url_name in env:
            continue
        values: dict[str, Any] = {key_name: decrypt_key(resources, row)}
        if row.base_url or row.type == "ollama":
            url = effective_base_url(row.type, row.base_url)
            values[url_name] = url
        env.update({k: v for k, v in values.items() if v})
    return env
