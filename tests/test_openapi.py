"""The OpenAPI document is one a client generator and its users can rely on: short unique
operation ids, described tags, human summaries, and each operation's real errors and headers."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

import orbiter
from orbiter.core.errors import AppError
from orbiter.openapi.errors import NOT_FOUND_NEVER, OPERATION_ERRORS
from tests.helpers import PASSWORD, SignedIn, new_client, unique_email

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
EVERY_RESPONSE_HEADERS = {
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
}


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    ]


def _operation(app: FastAPI, method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = app.openapi()["paths"][path][method.lower()]
    return operation


def test_operation_ids_are_the_tag_then_the_action_and_unique(app: FastAPI) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(app)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for _, _, operation in _operations(app):
        [tag] = operation["tags"]
        assert KEBAB.match(tag), tag
        operation_id = operation["operationId"]
        assert KEBAB.match(operation_id) and operation_id.startswith(f"{tag}-"), operation_id
        action = operation_id.removeprefix(f"{tag}-").split("-")
        tag_words = {
            form for word in tag.split("-") for form in (word, f"{word}s", word.removesuffix("s"))
        }
        assert not tag_words & set(action), operation_id
    some = {"projects-list", "projects-create", "projects-get", "api-keys-create"}
    assert some <= set(ids)
    assert "workspaces-compare-drift" in ids


def test_every_tag_is_described_once(app: FastAPI) -> None:
    document = app.openapi()
    described = [tag["name"] for tag in document["tags"]]
    used = {operation["tags"][0] for _, _, operation in _operations(app)}
    assert sorted(described) == sorted(used)
    for tag in document["tags"]:
        assert len(tag["description"]) > 30, tag


def test_every_security_scheme_an_operation_names_is_defined(app: FastAPI) -> None:
    """ReDoc and client generators skip (or fail on) a scheme the document never defines."""
    document = app.openapi()
    defined = set(document["components"]["securitySchemes"])
    named = {
        name
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for requirement in operation.get("security", [])
        for name in requirement
    }
    assert "DeploymentToken" in named  # the deploy callback's own credential
    assert named <= defined


def test_every_operation_has_a_summary_a_person_wrote(app: FastAPI) -> None:
    for method, path, operation in _operations(app):
        summary = operation.get("summary", "")
        words = summary.split()
        assert 2 <= len(words) <= 8, (method, path, summary)
        assert summary[0].isupper() and not summary.endswith("."), (method, path, summary)
        # Not FastAPI's fallback, the function's name in Title Case ("List Projects").
        assert words[1:] != [w.title() for w in words[1:]], (method, path, summary)


def test_the_document_names_no_file_a_user_does_not_have(app: FastAPI) -> None:
    text = json.dumps(app.openapi(), ensure_ascii=False)
    for pattern in (r"\b[\w./-]+\.(md|py|toml|tsv)\b", r"\.\./", r"API\.md", r"ARCHITECTURE"):
        assert not re.search(pattern, text), re.search(pattern, text)


def _app_errors(cls: type[AppError]) -> set[type[AppError]]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _app_errors(sub)
    return found


def test_the_error_code_is_an_enum_of_every_code_the_api_answers_with(app: FastAPI) -> None:
    for module in pkgutil.walk_packages(orbiter.__path__, "orbiter."):
        importlib.import_module(module.name)  # every AppError subclass, wherever it lives
    codes = {cls.code for cls in _app_errors(AppError)}
    schemas = app.openapi()["components"]["schemas"]
    assert schemas["ErrorBody"]["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    assert set(schemas["ErrorCode"]["enum"]) == codes
    assert {"REQUEST_TIMEOUT", "RANGE_NOT_SATISFIABLE", "INTERNAL_ERROR"} <= codes
    assert "HTTPValidationError" not in schemas  # FastAPI's 422 shape is never answered


# Errors with a body of their own: OAuth's as RFC 6749 requires, and the health report.
OWN_ERROR_BODIES = {
    ("POST", "/api/v1/oauth/device", "400"),
    ("POST", "/api/v1/oauth/token", "400"),
    ("GET", "/health", "503"),
}


def test_every_response_declares_its_headers_and_errors_the_envelope(app: FastAPI) -> None:
    document = app.openapi()
    assert set(document["components"]["headers"]) == EVERY_RESPONSE_HEADERS | {"Retry-After"}
    for method, path, operation in _operations(app):
        for status, response in operation["responses"].items():
            declared = {name for name, header in response["headers"].items() if "$ref" in header}
            expected = EVERY_RESPONSE_HEADERS | ({"Retry-After"} if status == "429" else set())
            assert declared == expected, (method, path, status)
            if int(status) >= 400 and (method, path, status) not in OWN_ERROR_BODIES:
                schema = response["content"]["application/json"]["schema"]
                assert schema == ENVELOPE, (method, path, status)


def test_the_operation_error_table_names_real_operations(app: FastAPI) -> None:
    ids = {operation["operationId"] for _, _, operation in _operations(app)}
    assert set(OPERATION_ERRORS) <= ids
    assert ids >= NOT_FOUND_NEVER


def test_each_operation_declares_its_own_errors_not_a_fixed_list(app: FastAPI) -> None:
    def statuses(method: str, path: str) -> set[int]:
        return {int(code) for code in _operation(app, method, path)["responses"]}

    # Everything can be rate limited, meet an outage or fail unexpectedly.
    for method, path, _ in _operations(app):
        assert {429, 500, 503} <= statuses(method, path), (method, path)
    assert statuses("GET", "/api/v1/auth/me") == {200, 401, 403, 429, 500, 503}
    assert statuses("GET", "/api/v1/auth/csrf") == {200, 429, 500, 503}
    assert statuses("GET", "/api/v1/projects") == {200, 400, 401, 403, 422, 429, 500, 503}
    delete = {204, 401, 403, 404, 409, 422, 429, 500, 503}
    assert statuses("DELETE", "/api/v1/projects/{project_id}") == delete
    create = {201, 400, 401, 403, 408, 413, 415, 422, 429, 500, 503}
    assert statuses("POST", "/api/v1/projects") == create
    upload = statuses("PUT", "/api/v1/blobs/upload/{hash}")
    assert {400, 408, 409, 413, 422} <= upload and not {404, 415} & upload  # raw bytes, by hash
    assert {502, 503} <= statuses("POST", "/api/v1/chat")
    assert 502 not in statuses("POST", "/api/v1/projects")
    login = statuses("POST", "/api/v1/auth/login")  # public, but checks the pair and the origin
    assert {401, 403, 429} <= login and not {404, 409} & login


@pytest.fixture
async def user(signed_in: Any) -> SignedIn:
    made: SignedIn = await signed_in()
    return made


async def test_the_statuses_requests_really_get_are_the_documented_ones(
    app: FastAPI, client: AsyncClient, user: SignedIn
) -> None:
    """A sample of requests, one per kind of error, each checked against its operation."""
    project = (await user.api.post("/api/v1/projects", json={"name": "Documented"})).json()
    personal = next(
        p
        for p in (await user.api.get("/api/v1/projects")).json()["data"]
        if p["id"] != project["id"]
    )
    too_big = b'{"name": "' + b"x" * (app.state.resources.settings.max_json_bytes + 1) + b'"}'
    json_type = {"Content-Type": "application/json"}
    missing = str(uuid.uuid4())
    cookie_without_csrf = new_client(app)
    cookie_without_csrf.cookies = user.browser.cookies
    sent: list[tuple[str, str, int, Response]] = [
        ("GET", "/api/v1/projects", 200, await user.api.get("/api/v1/projects")),
        ("GET", "/api/v1/projects", 400, await user.api.get("/api/v1/projects?cursor=nonsense")),
        ("GET", "/api/v1/projects", 401, await client.get("/api/v1/projects")),
        ("GET", "/api/v1/projects", 422, await user.api.get("/api/v1/projects?limit=0")),
        (
            "GET",
            "/api/v1/projects/{project_id}",
            404,
            await user.api.get(f"/api/v1/projects/{missing}"),
        ),
        (
            "POST",
            "/api/v1/projects",
            403,
            await cookie_without_csrf.post("/api/v1/projects", json={"name": "No CSRF token"}),
        ),
        (
            "POST",
            "/api/v1/projects",
            400,
            await user.api.post("/api/v1/projects", content=b"{", headers=json_type),
        ),
        (
            "POST",
            "/api/v1/projects",
            413,
            await user.api.post("/api/v1/projects", content=too_big, headers=json_type),
        ),
        (
            "POST",
            "/api/v1/projects",
            415,
            await user.api.post(
                "/api/v1/projects", content=b"name", headers={"Content-Type": "text/plain"}
            ),
        ),
        ("POST", "/api/v1/projects", 422, await user.api.post("/api/v1/projects", json={})),
        (
            "DELETE",
            "/api/v1/projects/{project_id}",
            409,
            await user.api.delete(f"/api/v1/projects/{personal['id']}"),
        ),
        (
            "POST",
            "/api/v1/auth/login",
            401,
            await client.post(
                "/api/v1/auth/login", json={"email": user.email, "password": f"{PASSWORD}!"}
            ),
        ),
        (
            "POST",
            "/api/v1/auth/register",
            409,
            await client.post(
                "/api/v1/auth/register", json={"email": user.email, "password": PASSWORD}
            ),
        ),
        (
            "POST",
            "/api/v1/auth/register",
            403,
            await client.post(
                "/api/v1/auth/register",
                json={"email": unique_email(), "password": PASSWORD},
                headers={"Origin": "https://elsewhere.example"},
            ),
        ),
        (
            "POST",
            "/api/v1/chat",
            503,
            await user.api.post(
                "/api/v1/chat", json={"messages": [{"role": "user", "content": "Hi"}]}
            ),
        ),
    ]
    await cookie_without_csrf.aclose()
    limited = None
    for _ in range(200):  # the anonymous budget is 60 a minute
        limited = await client.get("/api/v1/auth/csrf")
        if limited.status_code == 429:
            break
    assert limited is not None
    sent.append(("GET", "/api/v1/auth/csrf", 429, limited))

    for method, path, expected, response in sent:
        assert response.status_code == expected, (method, path, response.text)
        documented = _operation(app, method, path)["responses"]
        assert str(expected) in documented, (method, path, expected)
        assert "X-Request-ID" in response.headers
        if expected >= 400:
            assert (
                response.json()["error"]["code"]
                in app.openapi()["components"]["schemas"]["ErrorCode"]["enum"]
            )
    assert "Retry-After" in limited.headers
