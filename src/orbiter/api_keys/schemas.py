from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from orbiter.core.schemas import Name, RequestModel
from orbiter.core.time import as_utc, utcnow

Scope = Literal["read", "write", "secrets:read"]


class ApiKeyCreate(RequestModel):
    name: Name = Field(min_length=1, max_length=200)
    scopes: list[Scope] | None = Field(
        default=None,
        description="Default ['read', 'write']. 'secrets:read' must be asked for explicitly.",
    )
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("expires_at needs a timezone (RFC 3339)")
        if as_utc(value) <= utcnow():
            raise ValueError("expires_at must be in the future")
        return as_utc(value)


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself: shown in this response only")
