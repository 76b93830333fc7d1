from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from orbiter.core.schemas import Name, RequestModel

ProviderType = Literal["openai", "anthropic", "openai_compatible", "ollama"]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]
ApiKey = Annotated[str, Field(max_length=1000, description="Stored encrypted; never shown again")]
BaseUrl = Annotated[str, Field(min_length=1, max_length=2000)]
USD = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]


class ModelPrice(BaseModel):
    input: USD = Field(description="USD per million input tokens")
    output: USD = Field(description="USD per million output tokens")


PRICES_DESCRIPTION = (
    "Per-model prices overriding the built-in table (runs/prices.json) for this provider's "
    "runs: {model: {input, output}} in USD per million tokens. Models in neither have no "
    "price, and runs using them have `cost: null`."
)
Prices = Annotated[dict[ModelName, ModelPrice], Field(max_length=200)]
EMBEDDING_MODEL_DESCRIPTION = (
    "The model of the provider's OpenAI-compatible `/embeddings` that knowledge bases use for "
    "vector search (the default provider's, else the oldest provider's that has one); null: "
    "none, knowledge search is full-text only. Not for Anthropic providers."
)
EmbeddingDimensions = Annotated[
    int,
    Field(ge=1, le=8192, description="The vector length to ask for (models that take it)"),
]


class ProviderCreate(RequestModel):
    name: Name = Field(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")
    type: ProviderType
    base_url: BaseUrl | None = Field(
        default=None,
        description="Required for openai_compatible; defaults: OpenAI, Anthropic, "
        "http://localhost:11434 for Ollama",
    )
    api_key: ApiKey | None = None
    models: list[ModelName] = Field(default_factory=list, max_length=200)
    is_default: bool = False
    prices: Prices | None = Field(default=None, description=PRICES_DESCRIPTION)
    embedding_model: ModelName | None = Field(default=None, description=EMBEDDING_MODEL_DESCRIPTION)
    embedding_dimensions: EmbeddingDimensions | None = None

    @model_validator(mode="after")
    def _base_url_when_needed(self) -> ProviderCreate:
        if self.type == "openai_compatible" and not self.base_url:
            raise ValueError("base_url is required for type openai_compatible")
        if self.type == "anthropic" and self.embedding_model:
            raise ValueError("Anthropic has no embeddings API: embedding_model must be null")
        return self


class ProviderUpdate(RequestModel):
    """Fields not sent keep their value; `api_key` absent or null keeps the key, "" removes it."""

    name: Name | None = Field(default=None, min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")
    type: ProviderType | None = None
    base_url: BaseUrl | None = None
    api_key: ApiKey | None = None
    models: list[ModelName] | None = Field(default=None, max_length=200)
    is_default: bool | None = None
    prices: Prices | None = Field(default=None, description=PRICES_DESCRIPTION + " null: none")
    embedding_model: ModelName | None = Field(default=None, description=EMBEDDING_MODEL_DESCRIPTION)
    embedding_dimensions: EmbeddingDimensions | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ProviderUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "send at least one of name, type, base_url, api_key, models, is_default, prices, "
                "embedding_model, embedding_dimensions"
            )
        for name in ("name", "type", "models", "is_default"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ProviderRead(BaseModel):
    id: uuid.UUID
    name: str
    type: ProviderType
    base_url: str | None
    api_key: str | None = Field(description='Masked, e.g. "••••abcd"; null when no key is set')
    api_key_last4: str | None
    has_api_key: bool
    models: list[str]
    is_default: bool
    prices: dict[str, ModelPrice] | None = Field(description=PRICES_DESCRIPTION)
    embedding_model: str | None = Field(description=EMBEDDING_MODEL_DESCRIPTION)
    embedding_dimensions: int | None
    created_at: datetime
    updated_at: datetime


class ProviderTestResult(BaseModel):
    success: bool
    latency_ms: int
    models: list[str] | None = None
    error: str | None = None
