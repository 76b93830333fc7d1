"""Infrastructure credentials: checked with the provider before saving, encrypted at rest,
never returned, one per provider per user."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from orbiter.infrastructure.credentials import credential_for, credential_token
from orbiter.models import InfraCredential
from orbiter.runtime.resources import Resources
from tests.fakes.github import ALICE_TOKEN, BOB_TOKEN, FakeGitHub
from tests.helpers import API, SignedInFactory, assert_error, free_port

CREDENTIALS = f"{API}/infrastructure/credentials"
METHODS = ["cookie", "api_key", "bearer"]


@pytest.fixture(autouse=True)
def github_api(
    resources: Resources, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> FakeGitHub:
    monkeypatch.setattr(resources.settings, "github_api_url", fake_github.url)
    monkeypatch.setattr(fake_github, "down", False)
    return fake_github


async def test_a_github_token_is_checked_stored_encrypted_and_never_returned(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    alice = await signed_in()
    saved = await alice.browser.post(
        CREDENTIALS, json={"provider": "github", "api_token": ALICE_TOKEN}
    )
    assert saved.status_code == 201, saved.text
    assert saved.json() == {"success": True, "id": saved.json()["id"]}

    listed = await alice.api.get(CREDENTIALS)
    assert listed.status_code == 200
    [row] = listed.json()["data"]
    assert row["id"] == saved.json()["id"] and row["provider"] == "github"
    assert row["account"]["login"] == "alice" and row["metadata"] == {}
    assert ALICE_TOKEN not in listed.text and ALICE_TOKEN not in saved.text

    async with resources.sessionmaker() as db:
        stored = (await db.scalars(select(InfraCredential))).one()
        assert ALICE_TOKEN not in stored.token_encrypted
        user_id = uuid.UUID(str(alice.user["id"]))
        assert await credential_token(db, user_id, "github", secrets=resources.secrets) == (
            ALICE_TOKEN
        )
        found = await credential_for(db, user_id, "github", secrets=resources.secrets)
        assert found is not None and found.account["login"] == "alice"
        assert await credential_token(db, user_id, "vercel", secrets=resources.secrets) is None


async def test_posting_again_replaces_the_providers_credential(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    alice = await signed_in()
    first = await alice.cli.post(CREDENTIALS, json={"provider": "github", "api_token": ALICE_TOKEN})
    second = await alice.cli.post(CREDENTIALS, json={"provider": "github", "api_token": BOB_TOKEN})
    assert (first.status_code, second.status_code) == (201, 200), second.text
    assert second.json()["id"] == first.json()["id"]
    [row] = (await alice.cli.get(CREDENTIALS)).json()["data"]
    assert row["account"]["login"] == "bob"
    async with resources.sessionmaker() as db:
        token = await credential_token(
            db, uuid.UUID(str(alice.user["id"])), "github", secrets=resources.secrets
        )
    assert token == BOB_TOKEN


async def test_a_refused_token_is_a_clear_422_and_nothing_is_stored(
    signed_in: SignedInFactory,
) -> None:
    alice = await signed_in()
    refused = await alice.browser.post(
        CREDENTIALS, json={"provider": "github", "api_token": "ghp_not_a_real_token"}
    )
    error = assert_error(refused, 422, "VALIDATION_ERROR")
    assert "GitHub refused this token" in error["message"]
    assert "Bad credentials" in error["message"]
    assert error["details"]["fields"][0]["field"] == "api_token"
    assert (await alice.browser.get(CREDENTIALS)).json()["data"] == []


async def test_github_down_or_unreachable_is_502_and_nothing_is_stored(
    signed_in: SignedInFactory,
    resources: Resources,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = await signed_in()
    body = {"provider": "github", "api_token": ALICE_TOKEN}
    monkeypatch.setattr(fake_github, "down", True)
    down = assert_error(await alice.browser.post(CREDENTIALS, json=body), 502, "UPSTREAM_ERROR")
    assert "503" in down["message"]
    monkeypatch.setattr(fake_github, "down", False)
    monkeypatch.setattr(resources.settings, "github_api_url", f"http://127.0.0.1:{free_port()}")
    gone = assert_error(await alice.browser.post(CREDENTIALS, json=body), 502, "UPSTREAM_ERROR")
    assert "could not be reached" in gone["message"]
    assert (await alice.browser.get(CREDENTIALS)).json()["data"] == []


async def test_github_enterprise_is_reached_at_the_credentials_api_url(
    signed_in: SignedInFactory, fake_github: FakeGitHub
) -> None:
    alice = await signed_in()
    before = len(fake_github.seen)
    saved = await alice.browser.post(
        CREDENTIALS,
        json={
            "provider": "github",
            "api_token": ALICE_TOKEN,
            "metadata": {"api_url": fake_github.enterprise_url},
        },
    )
    assert saved.status_code == 201, saved.text
    assert fake_github.seen[before:] == [("/user", f"token {ALICE_TOKEN}")]
    [row] = (await alice.browser.get(CREDENTIALS)).json()["data"]
    assert row["metadata"] == {"api_url": fake_github.enterprise_url}
    assert row["account"]["api_url"] == fake_github.enterprise_url


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "heroku", "api_token": "x"}, "provider"),
        ({"provider": "local", "api_token": "x"}, "provider"),
        ({"provider": "github", "api_token": "x", "metadata": {"region": "eu"}}, "metadata"),
        ({"provider": "github", "api_token": "x", "metadata": {"host": "a/b"}}, "metadata.host"),
        ({"provider": "github", "api_token": ""}, "api_token"),
    ],
)
async def test_bad_credentials_are_refused_before_any_call(
    signed_in: SignedInFactory, fake_github: FakeGitHub, body: dict[str, object], field: str
) -> None:
    alice = await signed_in()
    before = len(fake_github.seen)
    error = assert_error(await alice.browser.post(CREDENTIALS, json=body), 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == field, error
    assert len(fake_github.seen) == before


async def test_deleting_a_credential(signed_in: SignedInFactory) -> None:
    alice = await signed_in()
    await alice.api.post(CREDENTIALS, json={"provider": "github", "api_token": ALICE_TOKEN})
    assert (await alice.api.delete(f"{CREDENTIALS}/github")).status_code == 204
    assert (await alice.api.get(CREDENTIALS)).json()["data"] == []
    assert_error(await alice.api.delete(f"{CREDENTIALS}/github"), 404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize("method", METHODS)
async def test_another_user_neither_sees_nor_deletes_a_credential(
    signed_in: SignedInFactory, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    saved = await alice.browser.post(
        CREDENTIALS, json={"provider": "github", "api_token": ALICE_TOKEN}
    )
    intruder = bob.clients()[method]
    assert (await intruder.get(CREDENTIALS)).json()["data"] == []
    assert_error(await intruder.delete(f"{CREDENTIALS}/github"), 404, "RESOURCE_NOT_FOUND")
    [row] = (await alice.browser.get(CREDENTIALS)).json()["data"]
    assert row["id"] == saved.json()["id"]
