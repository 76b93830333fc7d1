"""Registration, password sign-in, logout and /auth/me."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select

from orbiter.models import User
from orbiter.runtime.resources import Resources
from tests.helpers import PASSWORD, assert_error, unique_email

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


async def test_register_creates_the_user_signs_in_and_makes_a_personal_project(
    client: AsyncClient,
) -> None:
    email = unique_email()
    response = await client.post(
        REGISTER, json={"email": email, "password": PASSWORD, "name": "Ada"}
    )
    assert response.status_code == 201
    user = response.json()
    assert user["email"] == email and user["name"] == "Ada" and user["plan"] == "free"
    assert "password" not in response.text and "hash" not in response.text
    assert "orbiter_session" in response.cookies
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    projects = (await client.get("/api/v1/projects")).json()["data"]
    assert [(p["name"], p["is_personal"], p["role"]) for p in projects] == [
        ("Personal", True, "owner")
    ]


async def test_email_is_case_insensitive_and_unique(client: AsyncClient) -> None:
    email = unique_email()
    assert (
        await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    ).status_code == 201
    again = await client.post(REGISTER, json={"email": email.upper(), "password": PASSWORD})
    assert_error(again, 409, "CONFLICT")
    login = await client.post(LOGIN, json={"email": email.upper(), "password": PASSWORD})
    assert login.status_code == 200


async def test_weak_passwords_are_refused_with_the_reason(
    client: AsyncClient, resources: Resources
) -> None:
    cases = {"short1!": "too_short", "password123": "too_common", "x" * 129: "too_long"}
    for password, kind in cases.items():
        email = unique_email()
        error = assert_error(
            await client.post(REGISTER, json={"email": email, "password": password}),
            422,
            "VALIDATION_ERROR",
        )
        assert error["details"]["fields"][0]["field"] == "password"
        assert error["details"]["fields"][0]["type"] == kind
    async with resources.sessionmaker() as db:
        assert (await db.scalars(select(User))).all() == []


async def test_a_64_character_passphrase_is_accepted(client: AsyncClient) -> None:
    passphrase = "a long passphrase made of several words " + "z" * 24
    assert len(passphrase) == 64
    response = await client.post(REGISTER, json={"email": unique_email(), "password": passphrase})
    assert response.status_code == 201


async def test_invalid_email_is_a_validation_error(client: AsyncClient) -> None:
    error = assert_error(
        await client.post(REGISTER, json={"email": "not-an-email", "password": PASSWORD}),
        422,
        "VALIDATION_ERROR",
    )
    assert error["details"]["fields"][0]["field"] == "email"


async def test_login_returns_user_and_csrf_token_and_stores_only_a_hash(
    client: AsyncClient, resources: Resources
) -> None:
    email = unique_email()
    await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    response = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == email and len(body["csrf_token"]) >= 32
    async with resources.sessionmaker() as db:
        stored = await db.scalar(select(User.password_hash).where(User.email == email))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert "m=19456,t=2,p=1" in stored


async def test_wrong_password_and_unknown_email_get_the_same_answer(client: AsyncClient) -> None:
    email = unique_email()
    await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    wrong = assert_error(
        await client.post(LOGIN, json={"email": email, "password": "nope-nope"}),
        401,
        "UNAUTHORIZED",
    )
    unknown = assert_error(
        await client.post(LOGIN, json={"email": unique_email(), "password": "nope-nope"}),
        401,
        "UNAUTHORIZED",
    )
    assert wrong == unknown


async def test_outdated_password_hashes_are_upgraded_at_login(
    client: AsyncClient, resources: Resources
) -> None:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    email = unique_email()
    await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    weak = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8192, parallelism=1),)).hash(
        PASSWORD
    )
    async with resources.sessionmaker() as db:
        user = await db.scalar(select(User).where(User.email == email))
        assert user is not None
        user.password_hash = weak
        await db.commit()
    assert (
        await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    ).status_code == 200
    async with resources.sessionmaker() as db:
        upgraded = await db.scalar(select(User.password_hash).where(User.email == email))
    assert upgraded != weak and upgraded is not None and "m=19456,t=2,p=1" in upgraded


async def test_logout_ends_the_session(client: AsyncClient) -> None:
    email = unique_email()
    await client.post(REGISTER, json={"email": email, "password": PASSWORD})
    csrf = (await client.post(LOGIN, json={"email": email, "password": PASSWORD})).json()[
        "csrf_token"
    ]
    cookie = client.cookies["orbiter_session"]
    response = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert "orbiter_session" not in client.cookies
    client.cookies.set("orbiter_session", cookie)  # replaying the old cookie does not work
    assert_error(await client.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")


async def test_me_without_credentials_is_401(client: AsyncClient) -> None:
    assert_error(await client.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")


async def test_a_bad_bearer_token_or_scheme_is_401(client: AsyncClient) -> None:
    assert_error(
        await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nope"}),
        401,
        "UNAUTHORIZED",
    )
    assert_error(
        await client.get("/api/v1/auth/me", headers={"Authorization": "Basic eDp5"}),
        401,
        "UNAUTHORIZED",
    )
