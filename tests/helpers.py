"""The one set of black-box helpers: users signed in each of the three ways, projects and
members, error envelopes, all through HTTP only."""

from __future__ import annotations

import itertools
import re
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

API = "/api/v1"
BASE_URL = "http://testserver"
PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}@example.com"


def iso_time(value: str) -> datetime:
    """A response's timestamp as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def fill_path(path: str) -> str:
    """A route template with made-up values: hashes for `*hash*`, UUIDs for `*id`, else `x`."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return "a" * 64 if "hash" in name else str(uuid.uuid4()) if name.endswith("id") else "x"

    return re.sub(r"\{([^}]+)\}", value, path)


def free_port() -> int:
    """A loopback port nobody listens on (right after this returns)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def full_width(text: str) -> str:
    """The full-width forms of ASCII letters, digits and punctuation (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def new_client(app: FastAPI, **headers: str) -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=app), base_url=BASE_URL, headers=headers)


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def assert_missing_reference(response: Response, field: str, row_id: str) -> dict[str, Any]:
    """The one answer for a reference to a row that does not exist or belongs elsewhere."""
    error = assert_error(response, 422, "VALIDATION_ERROR")
    [problem] = error["details"]["fields"]
    assert problem["field"] == field, error
    assert problem["type"] == "reference_not_found", error
    assert problem["message"].endswith(" not found") and row_id not in response.text, error
    return error


@dataclass
class SignedIn:
    """One user with a browser session, an API key and a bearer token."""

    user: dict[str, Any]
    email: str
    browser: AsyncClient
    api_key: str
    api: AsyncClient
    token: str
    cli: AsyncClient

    def clients(self) -> dict[str, AsyncClient]:
        return {"cookie": self.browser, "api_key": self.api, "bearer": self.cli}

    async def aclose(self) -> None:
        for c in self.clients().values():
            await c.aclose()


SignedInFactory = Callable[[], Awaitable[SignedIn]]


async def register(
    client: AsyncClient,
    email: str | None = None,
    *,
    password: str = PASSWORD,
    prefix: str = "user",
    existing: bool = False,
) -> str:
    """Register an account; returns its email. `existing=True` lets it exist already."""
    email = email or unique_email(prefix)
    registered = await client.post(
        f"{API}/auth/register", json={"email": email, "password": password, "name": "Test User"}
    )
    assert registered.status_code in ((201, 409) if existing else (201,)), registered.text
    return email


async def browser_for(
    app: FastAPI, email: str | None = None, password: str = PASSWORD
) -> tuple[AsyncClient, dict[str, Any]]:
    """Register (or log in) and return a cookie client that sends its CSRF token."""
    client = new_client(app)
    email = await register(client, email, password=password, existing=True)
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client, login.json()["user"]


async def new_project(client: AsyncClient, name: str = "Apollo", **extra: Any) -> str:
    """Create a project; returns its id."""
    response = await client.post(f"{API}/projects", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def add_member(
    owner: AsyncClient, project_id: str, member: AsyncClient, email: str, role: str
) -> None:
    """The owner invites `email` to the project; `member`, signed in with it, accepts."""
    invited = await owner.post(
        f"/api/v1/projects/{project_id}/members", json={"email": email, "role": role}
    )
    assert invited.status_code == 201, invited.text
    accepted = await member.post(f"/api/v1/invitations/{invited.json()['id']}/accept")
    assert accepted.status_code == 200, accepted.text


async def create_api_key(browser: AsyncClient, scopes: list[str] | None = None) -> str:
    body: dict[str, Any] = {"name": "ci"}
    if scopes is not None:
        body["scopes"] = scopes
    created = await browser.post("/api/v1/api-keys", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


async def device_token(app: FastAPI, browser: AsyncClient) -> str:
    """Run the device flow: the CLI asks, the signed-in browser approves, the CLI polls."""
    async with new_client(app) as cli:
        start = await cli.post("/api/v1/oauth/device", data={"client_id": "orbiter-cli"})
        assert start.status_code == 200, start.text
        codes = start.json()
        approved = await browser.post(
            "/api/v1/oauth/device/authorize", json={"user_code": codes["user_code"]}
        )
        assert approved.status_code == 200, approved.text
        token = await cli.post(
            "/api/v1/oauth/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": codes["device_code"],
            },
        )
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])


async def sign_in_everywhere(app: FastAPI, email: str | None = None) -> SignedIn:
    email = email or unique_email()
    browser, user = await browser_for(app, email)
    key = await create_api_key(browser)
    token = await device_token(app, browser)
    return SignedIn(
        user=user,
        email=email,
        browser=browser,
        api_key=key,
        api=new_client(app, **{"X-API-Key": key}),
        token=token,
        cli=new_client(app, Authorization=f"Bearer {token}"),
    )
