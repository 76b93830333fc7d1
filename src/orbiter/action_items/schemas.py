"""Action item bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Severity = Literal["critical", "high", "medium", "low"]
Kind = Literal["drift", "security", "test_coverage", "refactoring", "deployment"]


class ActionItemRead(BaseModel):
    id: uuid.UUID = Field(
        description="Stable: stored findings keep theirs across analyses, computed kinds "
        "(drift, deployment) get one derived from what they are about"
    )
    kind: Kind
    severity: Severity
    title: str
    description: str
    project_id: uuid.UUID
    workspace_id: uuid.UUID | None
    path: str | None = Field(description="The file it is about, when one")
    line: int | None
    source: Literal["analysis", "drift", "deployment"]
    details: dict[str, Any] = Field(default_factory=dict)
    dismissed: bool
    dismissed_at: datetime | None
    created_at: datetime
