from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from orbiter.core.schemas import RequestModel

Theme = Literal["light", "dark", "system"]
PrivacyMode = Literal["off", "standard", "strict"]
ModelId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LANGUAGE_PATTERN = r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$"  # BCP 47-ish: en, pt-BR, zh-Hant


class UserPreferences(BaseModel):
    theme: Theme = "system"
    privacy_mode: PrivacyMode = "standard"
    notifications: bool = True
    sounds: bool = True
    default_model: str | None = None
    enabled_model_ids: list[str] = Field(default_factory=list)
    language: str = "en"


class UserPreferencesUpdate(RequestModel):
    theme: Theme | None = None
    privacy_mode: PrivacyMode | None = None
    notifications: bool | None = None
    sounds: bool | None = None
    default_model: str | None = Field(default=None, min_length=1, max_length=200)
    enabled_model_ids: list[ModelId] | None = Field(default=None, max_length=500)
    language: str | None = Field(default=None, pattern=LANGUAGE_PATTERN, max_length=35)
