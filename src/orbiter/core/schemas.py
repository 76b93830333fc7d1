"""The base of every request body: unknown keys and NUL characters are refused (422)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


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
