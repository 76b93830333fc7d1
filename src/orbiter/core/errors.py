"""Domain errors and the one place that turns any failure into the API.md §1.1 envelope."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 500
    code = "INTERNAL_ERROR"
    default_message = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(AppError):
    status_code = 400
    code = "BAD_REQUEST"
    default_message = "Bad request"


class Unauthorized(AppError):
    status_code = 401
    code = "UNAUTHORIZED"
    default_message = "Authentication required"


class Forbidden(AppError):
    status_code = 403
    code = "FORBIDDEN"
    default_message = "You are not allowed to do this"


class NotFound(AppError):
    status_code = 404
    code = "RESOURCE_NOT_FOUND"
    default_message = "Not found"


class MethodNotAllowed(AppError):
    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    default_message = "Method not allowed"


class Conflict(AppError):
    status_code = 409
    code = "CONFLICT"
    default_message = "Conflict"


class RequestTimeout(AppError):
    """An addition to API.md §1.1: the request body stopped arriving."""

    status_code = 408
    code = "REQUEST_TIMEOUT"
    default_message = "The request body was not received in time"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "Request body too large"


class UnsupportedMediaType(AppError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "Unsupported media type"


class ValidationFailed(AppError):
    status_code = 422
    code = "VALIDATION_ERROR"
    default_message = "Validation failed"

    @classmethod
    def for_field(cls, field: str, message: str, type_: str = "value_error") -> ValidationFailed:
        return cls(
            message, details={"fields": [{"field": field, "message": message, "type": type_}]}
        )


class RateLimited(AppError):
    status_code = 429
    code = "RATE_LIMITED"
    default_message = "Too many requests"


class UpstreamError(AppError):
    status_code = 502
    code = "UPSTREAM_ERROR"
    default_message = "An upstream service failed"


class ServiceUnavailable(AppError):
    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    default_message = "Service unavailable"


class OAuthError(AppError):
    """RFC 6749 §5.2 / RFC 8628 §3.5 errors: the one place the envelope does not apply."""

    status_code = 400
    code = "BAD_REQUEST"

    def __init__(self, error: str, description: str, *, status_code: int = 400) -> None:
        super().__init__(description, headers={"Cache-Control": "no-store"})
        self.error = error
        self.status_code = status_code

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.message}


STATUS_CODES: dict[int, type[AppError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        RateLimited,
        UpstreamError,
        ServiceUnavailable,
    )
}


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}
