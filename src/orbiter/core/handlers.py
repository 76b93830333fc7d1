"""Exception handlers: every error FastAPI or Starlette raises becomes the envelope."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from orbiter.core.errors import STATUS_CODES, AppError, OAuthError, envelope
from orbiter.core.logging import request_id_var

logger = logging.getLogger("orbiter.errors")


class AppHTTPException(StarletteHTTPException):
    """An `AppError` raised where only an HTTPException passes through unchanged: from
    `receive()`, under FastAPI's body reader, which turns any other exception into a 400."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.status_code, error.message, headers=error.headers)
        self.error = error


def error_response(exc: AppError) -> JSONResponse:
    if isinstance(exc, OAuthError):
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)
    return JSONResponse(
        envelope(exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or (str(loc[0]) if loc else "body")


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(envelope("BAD_REQUEST", "Malformed JSON body"), status_code=400)
    fields = [
        {
            "field": _field_name(tuple(e.get("loc", ()))),
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in errors
    ]
    return JSONResponse(
        envelope("VALIDATION_ERROR", "Request validation failed", {"fields": fields}),
        status_code=422,
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, AppHTTPException):
        return error_response(exc.error)
    error_cls = STATUS_CODES.get(exc.status_code)
    code = (
        error_cls.code
        if error_cls
        else "BAD_REQUEST"
        if exc.status_code < 500
        else "INTERNAL_ERROR"
    )
    message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    return JSONResponse(
        envelope(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # Input that validation let through but the database cannot hold (a backstop, not a path).
    logger.warning("database refused a value request_id=%s: %s", request_id_var.get(), exc)
    return JSONResponse(
        envelope("BAD_REQUEST", "A value in the request cannot be stored"), status_code=400
    )


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
