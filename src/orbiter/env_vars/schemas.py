"""Project environment variables: what callers send and what they get back."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from orbiter.core.schemas import RequestModel

KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_KEY_LENGTH = 256
MAX_VALUE_BYTES = 64 * 1024
MAX_BULK_VARIABLES = 500


def is_valid_key(key: str) -> bool:
    return len(key) <= MAX_KEY_LENGTH and re.fullmatch(KEY_PATTERN, key) is not None


EnvVarKey = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=KEY_PATTERN,
        description="A shell-safe name: letters, digits and '_', not starting with a digit",
        examples=["DATABASE_URL"],
    ),
]


class EnvVarSet(RequestModel):
    key: EnvVarKey
    value: str = Field(
        max_length=MAX_VALUE_BYTES, description=f"At most {MAX_VALUE_BYTES} bytes as UTF-8"
    )
    is_secret: bool | None = Field(
        default=None,
        description="Secret values are never shown in lists. Omitted: true for a new "
        "variable, unchanged for an existing one.",
    )

    @field_validator("value")
    @classmethod
    def _value_size(cls, value: str) -> str:
        size = len(value.encode())
        if size > MAX_VALUE_BYTES:
            raise ValueError(f"value is {size} bytes; the limit is {MAX_VALUE_BYTES} bytes")
        return value


class EnvVarBulkSet(RequestModel):
    variables: list[EnvVarSet] = Field(min_length=1, max_length=MAX_BULK_VARIABLES)

    @field_validator("variables")
    @classmethod
    def _unique_keys(cls, variables: list[EnvVarSet]) -> list[EnvVarSet]:
        first_index: dict[str, int] = {}
        for index, item in enumerate(variables):
            if item.key in first_index:
                raise ValueError(
                    f"duplicate key {item.key!r} at positions {first_index[item.key]} and {index}"
                )
            first_index[item.key] = index
        return variables


class EnvVarRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    key: str
    value: str | None = Field(description="null for secrets: their values are never listed")
    is_secret: bool
    created_at: datetime
    updated_at: datetime


class EnvVarBulkResult(BaseModel):
    success: bool = True
    count: int = Field(description="How many variables were created or updated")


class EnvVarValue(BaseModel):
    key: str
    value: str
    is_secret: bool


class EnvVarValues(BaseModel):
    variables: list[EnvVarValue] = Field(description="Every variable, unmasked, by key")
