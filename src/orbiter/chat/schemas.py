from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator

from orbiter.core.schemas import RequestModel

MAX_CONTENT_CHARS = 200_000
MAX_MESSAGES = 500


class TextPart(RequestModel):
    type: Literal["text"]
    text: str = Field(max_length=MAX_CONTENT_CHARS)


class ChatMessageIn(RequestModel):
    role: Literal["system", "user", "assistant"] = Field(
        description="No `tool` results: /chat declares no tools, so no tool call awaits one"
    )
    content: str | Annotated[list[TextPart], Field(max_length=100)] = Field(
        description="Text, or a list of text parts `[{type: 'text', text}]`"
    )

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)

    @model_validator(mode="after")
    def _bounded(self) -> ChatMessageIn:
        if len(self.text) > MAX_CONTENT_CHARS:
            raise ValueError(f"content must be at most {MAX_CONTENT_CHARS} characters")
        return self


def require_user_text(messages: list[ChatMessageIn]) -> None:
    if not any(m.role == "user" and m.text.strip() for m in messages):
        raise ValueError("messages must contain a user message with some text")


def _alias(snake: str, camel: str) -> AliasChoices:
    return AliasChoices(snake, camel)


class ChatConfig(RequestModel):
    """Sampling options; camelCase names (topP, maxTokens, ...) are accepted too."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1, validation_alias=_alias("top_p", "topP"))
    top_k: int | None = Field(default=None, ge=1, le=1000, validation_alias=_alias("top_k", "topK"))
    max_tokens: int | None = Field(
        default=None, ge=1, le=1_000_000, validation_alias=_alias("max_tokens", "maxTokens")
    )
    frequency_penalty: float | None = Field(
        default=None, ge=-2, le=2, validation_alias=_alias("frequency_penalty", "frequencyPenalty")
    )
    presence_penalty: float | None = Field(
        default=None, ge=-2, le=2, validation_alias=_alias("presence_penalty", "presencePenalty")
    )
    stop: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, max_length=4
    )
    seed: int | None = None


class ChatRequest(RequestModel):
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)
    model: str | None = Field(default=None, min_length=1, max_length=200)
    provider_id: uuid.UUID | None = Field(
        default=None, validation_alias=_alias("provider_id", "providerId")
    )
    config: ChatConfig | None = None

    @model_validator(mode="after")
    def _has_user_turn(self) -> ChatRequest:
        require_user_text(self.messages)
        return self


class Fragment(RequestModel):
    """A generated app fragment (the fragments spec); `code` is what morph-chat edits."""

    commentary: str = Field(default="", max_length=100_000)
    template: str = Field(default="", max_length=200)
    title: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=10_000)
    additional_dependencies: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=200
    )
    has_additional_dependencies: bool = False
    install_dependencies_command: str = Field(default="", max_length=2000)
    port: int | None = Field(default=None, ge=1, le=65535)
    file_path: str = Field(default="", max_length=1000)
    code: str = Field(max_length=MAX_CONTENT_CHARS)


class MorphChatRequest(RequestModel):
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)
    current_fragment: Fragment = Field(
        validation_alias=_alias("current_fragment", "currentFragment")
    )
    model: str | None = Field(default=None, min_length=1, max_length=200)
    provider_id: uuid.UUID | None = Field(
        default=None, validation_alias=_alias("provider_id", "providerId")
    )
    config: ChatConfig | None = None

    @model_validator(mode="after")
    def _has_user_turn(self) -> MorphChatRequest:
        require_user_text(self.messages)
        return self


class FragmentRead(BaseModel):
    commentary: str
    template: str
    title: str
    description: str
    additional_dependencies: list[str]
    has_additional_dependencies: bool
    install_dependencies_command: str
    port: int | None
    file_path: str
    code: str
