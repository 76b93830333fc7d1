"""A project's brief, next steps and decisions: what callers send and get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from orbiter.core.schemas import RequestModel

MAX_BRIEF_CHARS = 20_000
NextStepStatus = Literal["pending", "started", "completed", "dismissed"]
Priority = Literal["high", "medium", "low"]


class BriefRead(BaseModel):
    id: uuid.UUID = Field(description="The project's id")
    intent: str | None = Field(description="Why the project exists, in the owner's words")
    brief: str | None = Field(description="What the project is and how it is built")


class BriefEnvelope(BaseModel):
    project: BriefRead


class BriefUpdate(RequestModel):
    intent: str | None = Field(default=None, max_length=MAX_BRIEF_CHARS)
    brief: str | None = Field(default=None, max_length=MAX_BRIEF_CHARS)

    @model_validator(mode="after")
    def _something(self) -> BriefUpdate:
        if not self.model_fields_set:
            raise ValueError("send intent, brief or both")
        return self


class NextStepRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    description: str
    rationale: str = Field(description="Why the model suggests it, from the project's context")
    priority: Priority
    status: NextStepStatus
    helpful: bool | None = Field(description="The last feedback given; null when none")
    created_at: datetime
    updated_at: datetime


class NextStepUpdate(RequestModel):
    status: NextStepStatus


class NextStepFeedback(RequestModel):
    helpful: bool


class GeneratedSteps(BaseModel):
    next_steps: list[NextStepRead]
    generated_count: int


class LinkedConcept(BaseModel):
    id: uuid.UUID
    name: str
    layer: str
    path: str | None


class DecisionRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    rationale: str
    message_ids: list[uuid.UUID] = Field(description="The conversation messages it came from")
    created_at: datetime
    updated_at: datetime
    linked_concepts: list[LinkedConcept] | None = Field(
        default=None,
        description="With `include_links=true`: atlas concepts the decision names",
    )


class ExtractedDecisions(BaseModel):
    decisions: list[DecisionRead] = Field(
        description="Every decision the model found, new or already known"
    )
    extracted_count: int = Field(description="How many of them are new")
