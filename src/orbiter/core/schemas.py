"""The base of every request body: unknown keys and NUL characters are refused (422); the
shared input types: names (trimmed, never blank, no control characters) and emails (NFKC)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
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


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """API.md §1.1: every error, from every layer."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in {
        400: "Bad request (malformed JSON, bad cursor, ...)",
        401: "No or invalid credentials",
        403: "Not allowed (role, CSRF token, API key scope)",
        404: "Not found, or not visible to the caller",
        408: "The request body stopped arriving (REQUEST_TIMEOUT)",
        409: "Conflict with the current state; `details` says what is current",
        413: "Body over the route's limit (ORBITER_MAX_JSON_BYTES unless the route names more)",
        415: "A JSON route was sent another media type",
        422: "Validation failed; `details.fields` lists the fields",
        429: "Rate limited; see `Retry-After`",
        500: "Unexpected error; `details.request_id` names the log entry",
        503: "A dependency is unavailable or not configured",
    }.items()
}
