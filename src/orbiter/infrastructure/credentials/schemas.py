from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from orbiter.core.schemas import RequestModel

Metadata = Annotated[
    dict[str, Any],
    Field(
        max_length=20,
        description=(
            "Non-secret settings of the credential; `github`: `host` (GitHub Enterprise "
            "Server's host, default github.com) or `api_url` (its API base URL)"
        ),
    ),
]


class CredentialCreate(RequestModel):
    provider: str = Field(min_length=1, max_length=40, examples=["github"])
    api_token: str = Field(
        min_length=1, max_length=4096, description="Checked with the provider, stored encrypted"
    )
    metadata: Metadata = Field(default_factory=dict)


class CredentialSaved(BaseModel):
    success: bool
    id: uuid.UUID


class CredentialRead(BaseModel):
    """A stored credential; its token is never returned."""

    id: uuid.UUID
    provider: str
    metadata: dict[str, Any]
    account: dict[str, Any] = Field(
        description="What the provider said about the token when it was saved (e.g. `login`)"
    )
    created_at: datetime
    updated_at: datetime
