"""The base of every request body: unknown keys and NUL characters are refused (422); the
shared input types: names (trimmed, never blank, no control characters) and emails (NFKC)."""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
)

# Control characters (C0, C1), lone surrogates, line and paragraph separators, and the bidi
# embeddings, overrides and isolates that make a name display as something else.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(c) in _REFUSED_CATEGORIES or c in _BIDI_CONTROLS for c in value)


def clean_name(value: str) -> str:
    """A user-chosen name or title: surrounding whitespace trimmed; blank or with control
    characters refused."""
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


Name = Annotated[str, AfterValidator(clean_name)]


def normalise_email(value: str) -> str:
    """NFKC (full-width and other compatibility letters become plain ones), trimmed, lower case:
    the one form emails are stored, looked up and compared in."""
    return unicodedata.normalize("NFKC", value).strip().lower()


def _normalised_email(value: Any) -> Any:
    return normalise_email(value) if isinstance(value, str) else value


Email = Annotated[EmailStr, BeforeValidator(_normalised_email)]


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(contains_nul(v) for v in value)
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    return False


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # PostgreSQL cannot store NUL in text, and no legitimate input needs one.
        if contains_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class ErrorCode(StrEnum):
    """Every `error.code` an error response can carry (one code per HTTP status)."""

    BAD_REQUEST = "BAD_REQUEST"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    CONFLICT = "CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    RANGE_NOT_SATISFIABLE = "RANGE_NOT_SATISFIABLE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class ErrorBody(BaseModel):
    code: ErrorCode
    message: str = Field(description="For people: what went wrong, and often how to fix it")
    details: Any = Field(
        default=None,
        description="For programs: the fields at fault (`fields` on 422), what is current "
        "(on 409), `request_id` (on 500), or null",
    )


class ErrorEnvelope(BaseModel):
    """Every error, from every layer: routing, validation, authentication, rate limits, the
    services, and unexpected failures."""

    error: ErrorBody
