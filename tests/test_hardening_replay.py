"""The hardening findings replayed end to end through HTTP, as a new user and an attacker
would try them. Each test is one finding; the detailed checks live next to the code they
concern (tests/core/test_body_limits.py, tests/auth/test_sign_in_limits.py,
tests/auth/test_google.py, tests/projects/test_members.py, tests/core/test_input_hygiene.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select

from orbiter.auth import passwords
from orbiter.models import User
from orbiter.runtime.resources import Resources
from tests.blobs.util import sha256
from tests.fakes.google import FakeGoogle
from tests.helpers import (
    API,
    PASSWORD,
    assert_error,
    browser_for,
    full_width,
    new_client,
    unique_email,
)

JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def attacker(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with new_client(app) as client:
        yield client


async def _user_count(resources: Resources) -> int:
    async with resources.sessionmaker() as db:
        return int(await db.scalar(select(func.count()).select_from(User)) or 0)


async def test_oversized_json_is_refused_before_it_is_read_or_anyone_is_asked_who_sent_it(
    attacker: AsyncClient, resources: Resources
) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"email": "x@example.com", "password": "'
        for _ in range(1024):  # 64 MiB offered
            sent += 65536
            yield b"a" * 65536

    for path in ("/auth/register", "/projects", "/conversations"):
        response = await attacker.post(API + path, content=endless(), headers=JSON)
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert sent <= resources.settings.max_json_bytes + 65536
        sent = 0
    assert await _user_count(resources) == 0


async def test_a_stalled_upload_is_cut_off_and_leaves_nothing_behind(
    app: FastAPI, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "body_receive_timeout_seconds", 0.3)
    browser, _ = await browser_for(app)
    data = b"z" * 200_000
    digest = sha256(data)

    async def stall() -> AsyncIterator[bytes]:
        yield data[:100_000]
        await asyncio.sleep(30)
        yield data[100_000:]

    response = await browser.put(f"{API}/blobs/upload/{digest}", content=stall())
    assert_error(response, 408, "REQUEST_TIMEOUT")
    assert_error(await browser.get(f"{API}/blobs/download/{digest}"), 404, "RESOURCE_NOT_FOUND")
    stats = (await browser.get(f"{API}/blobs/stats")).json()
    assert stats["blobs"]["count"] == 0
    # A stalled sign-in form is cut off the same way.
    async with new_client(app) as slow:

        async def half_form() -> AsyncIterator[bytes]:
            yield b'{"email": "a@example.com", '
            await asyncio.sleep(30)

        assert_error(
            await slow.post(f"{API}/auth/login", content=half_form(), headers=JSON),
            408,
            "REQUEST_TIMEOUT",
        )
    await browser.aclose()


async def test_a_json_route_refuses_a_body_of_another_media_type(attacker: AsyncClient) -> None:
    body = b'{"email": "a@example.com", "password": "correct horse battery staple"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = await attacker.post(
            f"{API}/auth/register", content=body, headers={"Content-Type": content_type}
        )
        assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    ok = await attacker.post(
        f"{API}/auth/register",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 201, ok.text


async def test_28_simultaneous_password_guesses_get_at_most_10_checks(
    app: FastAPI, attacker: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not resources.limiter.enabled:
        pytest.skip("rate limits are disabled in this environment")
    victim_email = unique_email("victim")
    victim, _ = await browser_for(app, victim_email)
    checked = 0
    original = passwords.verify_password

    async def counting(password: str, password_hash: str | None) -> tuple[bool, str | None]:
        nonlocal checked
        checked += 1
        return await original(password, password_hash)

    monkeypatch.setattr(passwords, "verify_password", counting)
    guesses = await asyncio.gather(
        *(
            attacker.post(
                f"{API}/auth/login", json={"email": victim_email, "password": f"guess{i}"}
            )
            for i in range(28)
        )
    )
    assert checked <= 10
    assert sum(g.status_code == 401 for g in guesses) == checked
    assert sum(g.status_code == 429 for g in guesses) == 28 - checked
    # The victim's existing session is untouched.
    assert (await victim.get(f"{API}/auth/me")).status_code == 200
    await victim.aclose()


async def test_registering_someones_email_first_does_not_capture_their_google_sign_in(
    google_app: FastAPI, fake_google: FakeGoogle, resources: Resources
) -> None:
    victim_email = unique_email("victim")
    squatter, _ = await browser_for(google_app, victim_email)  # the attacker registers first
    async with new_client(google_app) as victim:
        response = await victim.post(
            f"{API}/auth/google",
            json={"credential": fake_google.id_token(sub="4242", email=victim_email)},
        )
        assert_error(response, 409, "CONFLICT")
    sessions = (await squatter.get(f"{API}/auth/sessions")).json()["data"]
    assert [s["kind"] for s in sessions] == ["browser"]  # no Google token on the account
    async with resources.sessionmaker() as db:
        [account] = (await db.scalars(select(User).where(User.email == victim_email))).all()
        assert account.google_sub is None and account.password_hash is not None
    await squatter.aclose()


async def test_member_invitations_do_not_reveal_which_emails_have_accounts(
    app: FastAPI,
) -> None:
    registered_email = unique_email("registered")
    registered, _ = await browser_for(app, registered_email)
    prober, _ = await browser_for(app)
    project = (await prober.post(f"{API}/projects", json={"name": "probe"})).json()["id"]
    answers: list[dict[str, Any]] = []
    for email in (registered_email, unique_email("unregistered")):
        response = await prober.post(
            f"{API}/projects/{project}/members", json={"email": email, "role": "viewer"}
        )
        assert response.status_code == 201, response.text
        answers.append({k: v for k, v in response.json().items() if k in {"role", "project_id"}})
    assert answers[0] == answers[1]
    listed = (await prober.get(f"{API}/projects/{project}/invitations")).json()["data"]
    assert len(listed) == 2 and {i["role"] for i in listed} == {"viewer"}
    members = (await prober.get(f"{API}/projects/{project}/members")).json()["data"]
    assert len(members) == 1  # nobody joins until they accept
    await registered.aclose()
    await prober.aclose()


async def test_a_whitespace_password_and_a_full_width_look_alike_email_are_refused(
    app: FastAPI, attacker: AsyncClient
) -> None:
    blank = await attacker.post(
        f"{API}/auth/register", json={"email": unique_email(), "password": " " * 16}
    )
    assert_error(blank, 422, "VALIDATION_ERROR")
    victim_email = unique_email("victim")
    victim, _ = await browser_for(app, victim_email)
    look_alike = full_width(victim_email)
    duplicate = await attacker.post(
        f"{API}/auth/register", json={"email": look_alike, "password": PASSWORD}
    )
    assert_error(duplicate, 409, "CONFLICT")
    await victim.aclose()


async def test_no_redirect_points_at_a_host_the_client_chose(attacker: AsyncClient) -> None:
    response = await attacker.get(f"{API}/projects/", headers={"Host": "evil.example"})
    assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert "location" not in response.headers
