"""Shaping the document FastAPI generates: error responses, response headers, components."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from orbiter.auth.dependencies import PUBLIC_ROUTES, SECURITY_SCHEMES
from orbiter.core.schemas import ErrorEnvelope
from orbiter.openapi.errors import operation_errors

SCHEMAS = "#/components/schemas/"
HEADERS = "#/components/headers/"
ENVELOPE = SCHEMAS + ErrorEnvelope.__name__
METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
# FastAPI's own 422 body: the API never answers with it, the envelope replaces it.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")

ERROR_DESCRIPTIONS = {
    400: "The request makes no sense as sent (malformed JSON, a bad cursor, ...)",
    401: "No credentials, or invalid or expired ones",
    403: "Not allowed: the project role, the CSRF token, the origin, or the API key's scopes",
    404: "Not found, or not visible to the caller",
    408: "The request body stopped arriving",
    409: "Conflicts with the current state; `details` says what is current",
    413: "The body is larger than this operation accepts; `details.max_bytes` says how large",
    415: "The body was sent with a media type this operation does not take",
    416: "The range starts past the end (RANGE_NOT_SATISFIABLE)",
    422: "Validation failed; `details.fields` lists each field and what is wrong with it",
    429: "Rate limited: wait `Retry-After` seconds",
    500: "Unexpected error; `details.request_id` names the log entry",
    502: "An upstream service (an LLM provider, Google) failed",
    503: "A dependency is down (database, Redis, blob store) or not configured",
}

_INTEGER = {"type": "integer", "minimum": 0}
COMPONENT_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "This request's id (the client's own when it sent a valid one); "
        "quote it when reporting a problem",
        "required": True,
        "schema": {"type": "string"},
    },
    "RateLimit-Limit": {
        "description": "Requests allowed per window (one minute) to this caller",
        "schema": _INTEGER,
    },
    "RateLimit-Remaining": {
        "description": "Requests left in the current window",
        "schema": _INTEGER,
    },
    "RateLimit-Reset": {
        "description": "Seconds until the current window ends",
        "schema": _INTEGER,
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": _INTEGER,
    },
}
EVERY_RESPONSE_HEADERS = (
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
)


def install_openapi(app: FastAPI, *, api_prefix: str) -> None:
    """Shape the document FastAPI generates, each time it generates one."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    shaped: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's cached document, new only when the routes change
        if not shaped or shaped[0] is not document:
            shape_document(document, api_prefix=api_prefix)
            shaped[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def shape_document(document: dict[str, Any], *, api_prefix: str) -> None:
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(_error_schemas())
    components["headers"] = COMPONENT_HEADERS
    # The three sign-in schemes, plus any a route declared for its own credential (the
    # deploy pipeline's callback token): every scheme an operation names must be defined.
    components["securitySchemes"] = components.get("securitySchemes", {}) | {
        scheme.scheme_name: scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for scheme in SECURITY_SCHEMES
    }
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                public = _is_public(method, path, api_prefix)
                if not public:
                    _accepts_every_credential(operation)
                _shape_responses(operation, operation_errors(operation, public=public))
    _drop_unreferenced(components["schemas"], document)


def _is_public(method: str, path: str, api_prefix: str) -> bool:
    if not path.startswith(f"{api_prefix}/"):
        return True  # /health: the only operation outside the API
    return (method.upper(), path.removeprefix(api_prefix)) in PUBLIC_ROUTES


def _accepts_every_credential(operation: dict[str, Any]) -> None:
    """Any scheme will do, unless a dependency declared the operation's own (API key only)."""
    operation.setdefault("security", [{scheme.scheme_name: []} for scheme in SECURITY_SCHEMES])


def _error_schemas() -> dict[str, Any]:
    schema = ErrorEnvelope.model_json_schema(ref_template=SCHEMAS + "{model}", mode="serialization")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {**definitions, ErrorEnvelope.__name__: schema}


def _shape_responses(operation: dict[str, Any], statuses: frozenset[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    for status in sorted(statuses | declared):
        _error_response(responses.setdefault(str(status), {}), status)
    for code, response in responses.items():
        headers = response.setdefault("headers", {})
        names = EVERY_RESPONSE_HEADERS + (("Retry-After",) if code == "429" else ())
        for name in names:
            headers.setdefault(name, {"$ref": HEADERS + name})
    operation["responses"] = dict(sorted(responses.items()))


def _error_response(response: dict[str, Any], status: int) -> None:
    """The envelope, unless the route declared a body of its own (OAuth's RFC 6749 errors)."""
    schemas = [media.get("schema") for media in response.get("content", {}).values()]
    if _refers_to_fastapi_validation(schemas):
        response.clear()
        schemas = []
    response.setdefault("description", ERROR_DESCRIPTIONS.get(status, "Error"))
    if not any(schemas):
        response["content"] = {"application/json": {"schema": {"$ref": ENVELOPE}}}


def _refers_to_fastapi_validation(schemas: list[Any]) -> bool:
    return any(SCHEMAS + name in json.dumps(schemas) for name in FASTAPI_VALIDATION_SCHEMAS)


def _drop_unreferenced(schemas: dict[str, Any], document: dict[str, Any]) -> None:
    """FastAPI's 422 schemas once nothing refers to them (the first refers to the second)."""
    for name in FASTAPI_VALIDATION_SCHEMAS:
        schema = schemas.pop(name, None)
        if schema is not None and SCHEMAS + name in json.dumps(document):
            schemas[name] = schema
