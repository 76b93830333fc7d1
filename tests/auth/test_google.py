"""Sign-in with Google: ID tokens verified against a key set the tests serve themselves."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from orbiter.core.settings import Settings
from orbiter.main import create_app
from orbiter.models import AccessToken, User
from orbiter.runtime.resources import Resources
from tests.fakes.google import CLIENT_ID, ISSUER, FakeGoogle, rsa_key
from tests.helpers import PASSWORD, assert_error, browser_for, full_width, new_client, unique_email

GOOGLE = "/api/v1/auth/google"
THIRTY_DAYS = 30 * 24 * 3600


@pytest.fixture
async def gclient(google_app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with new_client(google_app) as c:
        yield c


async def _users(resources: Resources) -> list[User]:
    async with resources.sessionmaker() as db:
        return list((await db.scalars(select(User))).all())


async def test_a_valid_id_token_creates_the_user_and_returns_a_bearer_token(
    gclient: AsyncClient, google_app: FastAPI, fake_google: FakeGoogle, resources: Resources
) -> None:
    email = unique_email("grace")
    credential = fake_google.id_token(sub="1234567890", email=email)
    response = await gclient.post(GOOGLE, json={"credential": credential})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "user"}
    assert body["token_type"] == "bearer" and body["expires_in"] == THIRTY_DAYS
    assert body["user"]["email"] == email
    assert body["user"]["name"] == "Grace Hopper"
    assert body["user"]["picture"] == "https://lh3.googleusercontent.com/a/grace.png"

    users = await _users(resources)
    assert [(u.email, u.google_sub, u.password_hash) for u in users] == [
        (email, "1234567890", None)
    ]
    assert str(users[0].id) == body["user"]["id"]

    async with new_client(google_app, Authorization=f"Bearer {body['access_token']}") as cli:
        me = await cli.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["id"] == body["user"]["id"]
        projects = (await cli.get("/api/v1/projects")).json()["data"]
        assert [p["is_personal"] for p in projects] == [True]
        sessions = (await cli.get("/api/v1/auth/sessions")).json()["data"]
        assert [(s["kind"], s["current"]) for s in sessions] == [("token", True)]


@pytest.mark.parametrize("issuer", ["accounts.google.com", "https://accounts.google.com"])
async def test_both_google_issuer_forms_are_accepted(
    gclient: AsyncClient, fake_google: FakeGoogle, issuer: str
) -> None:
    response = await gclient.post(GOOGLE, json={"credential": fake_google.id_token(iss=issuer)})
    assert response.status_code == 200, response.text


async def test_the_user_is_keyed_by_sub_not_by_email(
    gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    first = await gclient.post(
        GOOGLE, json={"credential": fake_google.id_token(sub="42", email=unique_email("old"))}
    )
    assert first.status_code == 200, first.text
    renamed = await gclient.post(
        GOOGLE, json={"credential": fake_google.id_token(sub="42", email=unique_email("new"))}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["user"]["id"] == first.json()["user"]["id"]
    assert renamed.json()["access_token"] != first.json()["access_token"]
    assert len(await _users(resources)) == 1
    async with resources.sessionmaker() as db:
        assert len((await db.scalars(select(AccessToken))).all()) == 2


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": "someone-elses-client"}, id="wrong-audience"),
        pytest.param({"iss": "https://accounts.evil.example"}, id="wrong-issuer"),
        pytest.param(
            {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, id="expired"
        ),
        pytest.param({"exp": None}, id="no-expiry"),
        pytest.param({"sub": None}, id="no-subject"),
    ],
)
async def test_tokens_with_bad_claims_are_refused(
    gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources, claims: dict[str, Any]
) -> None:
    response = await gclient.post(GOOGLE, json={"credential": fake_google.id_token(**claims)})
    assert_error(response, 401, "UNAUTHORIZED")
    assert await _users(resources) == []


async def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(
    gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    forged = fake_google.id_token(key=rsa_key())
    assert_error(await gclient.post(GOOGLE, json={"credential": forged}), 401, "UNAUTHORIZED")
    assert await _users(resources) == []


async def test_a_token_with_an_unknown_kid_is_refused(
    gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    other = rsa_key()
    response = await gclient.post(
        GOOGLE, json={"credential": fake_google.id_token(key=other, kid="not-a-google-kid")}
    )
    assert_error(response, 401, "UNAUTHORIZED")
    assert await _users(resources) == []


@pytest.mark.parametrize("credential", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
async def test_a_garbage_credential_is_refused(
    gclient: AsyncClient, resources: Resources, credential: str
) -> None:
    assert_error(await gclient.post(GOOGLE, json={"credential": credential}), 401, "UNAUTHORIZED")
    assert await _users(resources) == []


async def test_an_hmac_token_naming_a_google_kid_is_refused(
    gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "1",
        "email": unique_email(),
        "email_verified": True,
        "iat": now,
        "exp": now + 600,
    }
    forged = jwt.encode(
        claims,
        "a-shared-secret-of-32-bytes-or-more!",
        algorithm="HS256",
        headers={"kid": fake_google.kid},
    )
    assert_error(await gclient.post(GOOGLE, json={"credential": forged}), 401, "UNAUTHORIZED")
    assert await _users(resources) == []


async def test_unreachable_google_keys_are_an_upstream_error(
    migrated: Settings, fake_google: FakeGoogle, resources: Resources
) -> None:
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = migrated.model_copy(
        update={"google_client_id": CLIENT_ID, "google_jwks_url": f"http://127.0.0.1:{port}/certs"}
    )
    application = create_app(settings)
    async with LifespanManager(application), new_client(application) as c:
        response = await c.post(GOOGLE, json={"credential": fake_google.id_token()})
        assert_error(response, 502, "UPSTREAM_ERROR")
    assert await _users(resources) == []


async def test_a_new_user_needs_a_verified_email(
    gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    for claims in ({"email_verified": False}, {"email_verified": None}, {"email": None}):
        response = await gclient.post(GOOGLE, json={"credential": fake_google.id_token(**claims)})
        assert_error(response, 401, "UNAUTHORIZED")
    assert await _users(resources) == []


async def test_google_sign_in_is_unavailable_without_a_client_id(
    client: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    response = await client.post(GOOGLE, json={"credential": fake_google.id_token()})
    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert await _users(resources) == []


async def test_google_never_takes_over_a_password_account_with_the_same_email(
    google_app: FastAPI, gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    """Whoever registered the email first never proved it: linking by email would hand the
    Google user's sign-ins to them. The answer is 409 and nothing changes."""
    email = unique_email("squatted")
    squatter, _ = await browser_for(google_app, email)
    response = await gclient.post(
        GOOGLE, json={"credential": fake_google.id_token(sub="777", email=email.upper())}
    )
    error = assert_error(response, 409, "CONFLICT")
    assert "/auth/google/link" in error["message"]
    users = await _users(resources)
    assert len(users) == 1 and users[0].google_sub is None
    async with resources.sessionmaker() as db:
        assert (await db.scalars(select(AccessToken))).all() == []
    # The squatter's session sees no Google link and no new session or token.
    sessions = (await squatter.get("/api/v1/auth/sessions")).json()["data"]
    assert [s["kind"] for s in sessions] == ["browser"]
    await squatter.aclose()


async def test_the_password_holder_links_google_from_the_session(
    google_app: FastAPI, gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    email = unique_email("linked")
    browser, user = await browser_for(google_app, email)
    linked = await browser.post(
        f"{GOOGLE}/link", json={"credential": fake_google.id_token(sub="778", email=email)}
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["id"] == user["id"]
    assert linked.json()["picture"] == "https://lh3.googleusercontent.com/a/grace.png"
    users = await _users(resources)
    assert len(users) == 1 and users[0].google_sub == "778"
    # Google now signs in to that account, and the password still works.
    again = await gclient.post(GOOGLE, json={"credential": fake_google.id_token(sub="778")})
    assert again.status_code == 200, again.text
    assert again.json()["user"]["id"] == user["id"]
    login = await gclient.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    await browser.aclose()


async def test_linking_needs_a_browser_session_with_its_csrf_token(
    google_app: FastAPI, gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    browser, _ = await browser_for(google_app)
    credential = fake_google.id_token(sub="779")
    anonymous = await gclient.post(f"{GOOGLE}/link", json={"credential": credential})
    assert_error(anonymous, 401, "UNAUTHORIZED")
    csrf = browser.headers.pop("X-CSRF-Token")
    assert_error(
        await browser.post(f"{GOOGLE}/link", json={"credential": credential}), 403, "FORBIDDEN"
    )
    browser.headers["X-CSRF-Token"] = csrf
    key = (await browser.post("/api/v1/api-keys", json={"name": "ci"})).json()["key"]
    async with new_client(google_app, **{"X-API-Key": key}) as api:
        refused = await api.post(f"{GOOGLE}/link", json={"credential": credential})
        assert_error(refused, 403, "FORBIDDEN")
    forged = fake_google.id_token(sub="779", key=rsa_key())
    assert_error(
        await browser.post(f"{GOOGLE}/link", json={"credential": forged}), 401, "UNAUTHORIZED"
    )
    assert [u.google_sub for u in await _users(resources)] == [None]
    await browser.aclose()


async def test_a_google_account_links_to_one_orbiter_account_only(
    google_app: FastAPI, gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    first, _ = await browser_for(google_app)
    second, _ = await browser_for(google_app)
    assert (
        await first.post(f"{GOOGLE}/link", json={"credential": fake_google.id_token(sub="9")})
    ).status_code == 200
    taken = await second.post(f"{GOOGLE}/link", json={"credential": fake_google.id_token(sub="9")})
    assert_error(taken, 409, "CONFLICT")
    other = await first.post(f"{GOOGLE}/link", json={"credential": fake_google.id_token(sub="10")})
    assert_error(other, 409, "CONFLICT")
    same = await first.post(f"{GOOGLE}/link", json={"credential": fake_google.id_token(sub="9")})
    assert same.status_code == 200
    assert sorted(str(u.google_sub) for u in await _users(resources)) == ["9", "None"]
    await first.aclose()
    await second.aclose()


async def test_an_unverified_email_does_not_take_over_a_password_account(
    google_app: FastAPI, gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    email = unique_email("victim")
    browser, _ = await browser_for(google_app, email)
    response = await gclient.post(
        GOOGLE, json={"credential": fake_google.id_token(email=email, email_verified=False)}
    )
    assert_error(response, 401, "UNAUTHORIZED")
    users = await _users(resources)
    assert len(users) == 1 and users[0].google_sub is None
    await browser.aclose()


async def test_a_google_credential_approves_a_device_without_a_session(
    gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    start = await gclient.post("/api/v1/oauth/device", data={"client_id": "orbiter-cli"})
    assert start.status_code == 200, start.text
    codes = start.json()
    email = unique_email("device")

    forged = await gclient.post(
        "/api/v1/oauth/device/authorize",
        json={"user_code": codes["user_code"], "credential": fake_google.id_token(key=rsa_key())},
    )
    assert_error(forged, 401, "UNAUTHORIZED")

    approved = await gclient.post(
        "/api/v1/oauth/device/authorize",
        json={"user_code": codes["user_code"], "credential": fake_google.id_token(email=email)},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["success"] is True
    token = await gclient.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": codes["device_code"],
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["user"]["email"] == email
    assert [u.email for u in await _users(resources)] == [email]


async def test_a_full_width_google_email_is_stored_and_matched_in_nfkc(
    google_app: FastAPI, gclient: AsyncClient, fake_google: FakeGoogle, resources: Resources
) -> None:
    email = unique_email("wide")
    wide = full_width(email)
    created = await gclient.post(GOOGLE, json={"credential": fake_google.id_token(email=wide)})
    assert created.status_code == 200, created.text
    assert created.json()["user"]["email"] == email
    # The same address, registered with a password before, is not taken over either.
    taken = unique_email("wide-taken")
    browser, _ = await browser_for(google_app, taken)
    wide_taken = full_width(taken)
    refused = await gclient.post(
        GOOGLE, json={"credential": fake_google.id_token(email=wide_taken)}
    )
    assert_error(refused, 409, "CONFLICT")
    assert sorted(u.email for u in await _users(resources)) == sorted([email, taken])
    await browser.aclose()
