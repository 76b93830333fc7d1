"""The readable `orbiter_csrf` cookie: a copy of the session's CSRF token for same-origin pages.

Swagger UI at /docs copies it into X-CSRF-Token. The server keeps comparing the header with the
token stored with the session, so a cookie someone else plants buys nothing.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from asgi_lifespan import LifespanManager
from httpx import AsyncClient, Response

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.helpers import PASSWORD, assert_error, new_client, register

LOGIN = "/api/v1/auth/login"
CSRF = "/api/v1/auth/csrf"


def _cookie(response: Response, name: str) -> str:
    """The Set-Cookie line for `name`, attributes included."""
    lines = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    matching = [line for line in lines if line.startswith(f"{name}=")]
    assert len(matching) == 1, lines
    return matching[0]


async def _sign_in(client: AsyncClient) -> Response:
    email = await register(client, prefix="csrf")
    response = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response


async def test_login_sets_a_readable_copy_of_the_session_csrf_token(client: AsyncClient) -> None:
    login = await _sign_in(client)
    line = _cookie(login, "orbiter_csrf")
    assert "HttpOnly" not in line and "SameSite=lax" in line and "Path=/" in line
    assert client.cookies["orbiter_csrf"] == login.json()["csrf_token"]

    again = await client.get(CSRF)
    assert again.json()["csrf_token"] == login.json()["csrf_token"]
    assert (
        SimpleCookie(_cookie(again, "orbiter_csrf"))["orbiter_csrf"].value
        == (login.json()["csrf_token"])
    )


async def test_anonymous_csrf_tokens_set_no_cookie(client: AsyncClient) -> None:
    response = await client.get(CSRF)
    assert response.status_code == 200 and response.json()["csrf_token"]
    assert "set-cookie" not in response.headers


async def test_the_cookie_copied_into_the_header_makes_a_write_work(client: AsyncClient) -> None:
    await _sign_in(client)
    created = await client.post(
        "/api/v1/projects",
        json={"name": "via cookie copy"},
        headers={"X-CSRF-Token": client.cookies["orbiter_csrf"]},
    )
    assert created.status_code == 201, created.text


async def test_a_planted_cookie_matching_the_header_is_refused(client: AsyncClient) -> None:
    await _sign_in(client)
    client.cookies.set("orbiter_csrf", "attacker-chosen")
    refused = await client.post(
        "/api/v1/projects", json={"name": "nope"}, headers={"X-CSRF-Token": "attacker-chosen"}
    )
    assert_error(refused, 403, "FORBIDDEN")
    listed = await client.get("/api/v1/projects")
    assert "nope" not in [p["name"] for p in listed.json()["data"]]


async def test_logout_clears_it(client: AsyncClient) -> None:
    login = await _sign_in(client)
    out = await client.post(
        "/api/v1/auth/logout", headers={"X-CSRF-Token": login.json()["csrf_token"]}
    )
    assert out.status_code == 204, out.text
    assert "Max-Age=0" in _cookie(out, "orbiter_csrf")
    assert "orbiter_csrf" not in client.cookies


async def test_it_is_secure_when_cookies_are(migrated: Settings) -> None:
    app = create_app(migrated.model_copy(update={"cookie_secure": True}))
    async with LifespanManager(app), new_client(app) as client:
        login = await _sign_in(client)
    assert "Secure" in _cookie(login, "orbiter_csrf")
