from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ResourceRead(BaseModel):
    """A provisioned resource; its connection info is masked (passwords and paths hidden)."""

    id: uuid.UUID
    project_id: uuid.UUID
    provider: str
    resource_type: str
    name: str
    details: dict[str, Any] = Field(description="What the provider shows (database number, file)")
    connection: dict[str, str] = Field(description="Masked connection info")
    env_vars: list[str] = Field(description="The environment variables a deploy sets from it")
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
