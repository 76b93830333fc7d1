"""Tools: what callers send and what they get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from orbiter.core.schemas import RequestModel
from orbiter.tools.http_fetch import DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS

# What the OpenAI and Anthropic APIs accept as a function name.
TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
HEADER_NAME_PATTERN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$"

ToolName = Annotated[
    str,
    Field(
        pattern=TOOL_NAME_PATTERN,
        description="Letters, digits, '_' and '-' (what model APIs accept as a function name)",
        examples=["get_weather"],
    ),
]
Description = Annotated[str, Field(min_length=1, max_length=2000)]
HTTP_CONFIG_DESCRIPTION = (
    "For type `http`: `{method: GET|POST|PUT|PATCH|DELETE|HEAD, url, headers?: [{name, value, "
    "secret?}], body_template?, timeout_seconds?}`. `url` is an RFC 6570 template filled from "
    "the input (`https://api.example.com/items/{id}{?q}`; the scheme and host are fixed). "
    "Secret header values are encrypted at rest and shown masked; in an update, a secret "
    "header sent without `value` keeps its stored one. `body_template` (POST, PUT, PATCH) is "
    'JSON in which a string `"{{name}}"` becomes the input\'s value and `{{name}}` inside a '
    "longer string its text; without it the input itself is sent as JSON."
)
CODE_CONFIG_DESCRIPTION = (
    "For type `code`: `{code, function?, timeout_seconds?}`. `code` is Python that defines "
    "`function` (default `main`) at its top level; a call runs `function(**input)` in a fresh "
    "sandbox and its return value (JSON) is the output. `timeout_seconds` (1-600, default 30, "
    "at most the server's sandbox command limit) is the call's wall clock."
)
CONFIG_DESCRIPTION = HTTP_CONFIG_DESCRIPTION + " " + CODE_CONFIG_DESCRIPTION
HTTP_CONFIG_EXAMPLE = {
    "method": "GET",
    "url": "https://api.example.com/weather{?city}",
    "headers": [{"name": "Authorization", "value": "Bearer sk-...", "secret": True}],
}


class HeaderIn(RequestModel):
    name: str = Field(pattern=HEADER_NAME_PATTERN)
    value: str | None = Field(default=None, max_length=8000)
    secret: bool = False


class HttpToolConfig(RequestModel):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(min_length=1, max_length=4000)
    headers: list[HeaderIn] = Field(default_factory=list, max_length=50)
    body_template: Any = None
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, ge=1, le=MAX_TIMEOUT_SECONDS)

    @field_validator("headers")
    @classmethod
    def _unique_names(cls, headers: list[HeaderIn]) -> list[HeaderIn]:
        seen: set[str] = set()
        for header in headers:
            if header.name.lower() in seen:
                raise ValueError(f"header {header.name!r} is listed twice")
            seen.add(header.name.lower())
        return headers


class ToolCreate(RequestModel):
    project_id: uuid.UUID | None = Field(
        default=None, description="Default: the caller's personal project"
    )
    name: ToolName
    description: Description
    type: Literal["http", "code"] = Field(
        description="`http` calls an HTTP API; `code` runs Python in a sandbox"
    )
    input_schema: dict[str, Any] = Field(
        description="A JSON Schema (Draft 2020-12 unless `$schema` says otherwise) of an "
        "object: the tool's input, which every call is validated against",
        examples=[{"type": "object", "properties": {"city": {"type": "string"}}}],
    )
    config: dict[str, Any] = Field(
        default_factory=dict, description=CONFIG_DESCRIPTION, examples=[HTTP_CONFIG_EXAMPLE]
    )


class ToolUpdate(RequestModel):
    """Fields not sent keep their value."""

    name: ToolName | None = None
    description: Description | None = None
    input_schema: dict[str, Any] | None = None
    config: dict[str, Any] | None = Field(default=None, description=CONFIG_DESCRIPTION)

    @model_validator(mode="after")
    def _something_to_change(self) -> ToolUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of name, description, input_schema, config")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ToolRead(BaseModel):
    id: str = Field(description="A built-in tool's name, or a custom tool's id")
    name: str
    description: str
    type: Literal["builtin", "http", "code"]
    builtin: bool
    project_id: uuid.UUID | None = Field(description="null for built-in tools")
    input_schema: dict[str, Any]
    config: dict[str, Any] | None = Field(
        description="Custom tools' configuration; secret header values masked"
    )
    created_at: datetime | None
    updated_at: datetime | None


class ToolInvoke(RequestModel):
    input: dict[str, Any] = Field(
        default_factory=dict, description="Validated against the tool's input_schema"
    )
    project_id: uuid.UUID | None = Field(
        default=None,
        description="Built-in tools: the project the run is recorded in (default: the "
        "personal project). Custom tools run in their own project.",
    )


class ToolOutput(BaseModel):
    output: Any = Field(description="What the tool returned (null when it failed)")
    error: str | None = Field(description="Why the tool failed, or null")
    run_id: uuid.UUID = Field(description="The one-step run recording this call (kind `tool`)")
    duration_ms: int
