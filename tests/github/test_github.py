"""/github/user|repos|orgs against a fake GitHub on loopback: whose token, GitHub's answers
turned into clear errors, paging, the rate-limit group and the outbound guard."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from orbiter.github import service
from orbiter.runtime.resources import Resources
from tests.fakes import github as fake
from tests.fakes.github import ALICE_TOKEN, SERVER_TOKEN, FakeGitHub
from tests.helpers import API, SignedInFactory, assert_error

GITHUB = f"{API}/github"


@pytest.fixture(autouse=True)
def github_api(
    resources: Resources, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> FakeGitHub:
    monkeypatch.setattr(resources.settings, "github_api_url", fake_github.url)
    monkeypatch.setattr(resources.settings, "github_token", "")
    return fake_github


async def with_credential(client: AsyncClient) -> AsyncClient:
    saved = await client.post(
        f"{API}/infrastructure/credentials", json={"provider": "github", "api_token": ALICE_TOKEN}
    )
    assert saved.status_code == 201, saved.text
    return client


async def test_the_callers_credential_is_used(
    browser: AsyncClient, fake_github: FakeGitHub
) -> None:
    alice = await with_credential(browser)
    before = len(fake_github.seen)
    response = await alice.get(f"{GITHUB}/user")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "login": "alice",
        "name": "Alice Liddell",
        "avatar_url": "https://a/alice.png",
        "token_source": "credential",
    }
    assert fake_github.seen[before:] == [("/user", f"token {ALICE_TOKEN}")]
    assert response.headers["RateLimit-Limit"] == "30"


async def test_the_servers_token_when_the_caller_has_none_on_enterprise(
    browser: AsyncClient,
    resources: Resources,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "github_token", SERVER_TOKEN)
    monkeypatch.setattr(resources.settings, "github_api_url", fake_github.enterprise_url)
    bob = browser
    before = len(fake_github.seen)
    response = await bob.get(f"{GITHUB}/user")
    assert response.status_code == 200, response.text
    assert (response.json()["login"], response.json()["token_source"]) == ("orbiter-bot", "server")
    assert fake_github.seen[before:] == [("/api/v3/user", f"token {SERVER_TOKEN}")]


async def test_no_token_at_all_says_how_to_add_one(browser: AsyncClient) -> None:
    bob = browser
    for path in ("user", "repos", "orgs"):
        error = assert_error(await bob.get(f"{GITHUB}/{path}"), 503, "SERVICE_UNAVAILABLE")
        assert "POST /api/v1/infrastructure/credentials" in error["message"]
        assert "ORBITER_GITHUB_TOKEN" in error["message"]


async def test_a_refused_token_is_a_clear_error(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await with_credential(browser)
    monkeypatch.delitem(fake.USERS, ALICE_TOKEN)  # revoked on GitHub since it was saved
    error = assert_error(await alice.get(f"{GITHUB}/user"), 502, "UPSTREAM_ERROR")
    assert error["message"].startswith("GitHub refused the token of your github credential")
    assert error["details"] == {"github_status": 401}
    monkeypatch.setattr(resources.settings, "github_token", "ghp_revoked")
    await alice.delete(f"{API}/infrastructure/credentials/github")
    error = assert_error(await alice.get(f"{GITHUB}/repos"), 502, "UPSTREAM_ERROR")
    assert "GitHub refused the server's token (ORBITER_GITHUB_TOKEN)" in error["message"]


async def test_repos_page_through_githubs_pages(
    browser: AsyncClient, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "PER_PAGE", 10)
    alice = await with_credential(browser)
    before = len(fake_github.seen)
    names: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        response = await alice.get(f"{GITHUB}/repos", params=params)
        assert response.status_code == 200, response.text
        names += [r["name"] for r in response.json()["data"]]
        assert response.json()["pagination"]["total"] == 25
        cursor = response.json()["pagination"]["next_cursor"]
    assert cursor is None
    assert names == [f"project-{i}" for i in range(25, 0, -1)]  # most recently updated first
    assert [path for path, _ in fake_github.seen[before : before + 3]] == ["/user/repos"] * 3


OWNERS = [
    ("wonderland", ["tea", "rabbit-hole"]),  # an organization
    ("bob", ["dotfiles"]),  # another user: public ones
    ("alice", [f"project-{i}" for i in range(25, 0, -1)]),  # yourself: private ones too
]


async def test_repos_of_an_owner(browser: AsyncClient) -> None:
    alice = await with_credential(browser)
    for owner, expected in OWNERS:
        response = await alice.get(f"{GITHUB}/repos", params={"owner": owner, "limit": 100})
        assert response.status_code == 200, response.text
        assert [r["name"] for r in response.json()["data"]] == expected
        assert {r["owner"] for r in response.json()["data"]} == {owner}
    response = await alice.get(f"{GITHUB}/repos", params={"owner": "nobody-here"})
    error = assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert "nobody-here" in error["message"]


async def test_orgs(browser: AsyncClient) -> None:
    alice = await with_credential(browser)
    response = await alice.get(f"{GITHUB}/orgs")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [
        {"id": 90, "login": "wonderland", "avatar_url": "https://a/w.png", "description": "Tea"}
    ]


async def test_the_github_rate_limit_group(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not resources.limiter.enabled:
        pytest.skip("rate limits are off")
    monkeypatch.setattr(resources.settings, "rate_limit_github", 2)
    alice = await with_credential(browser)
    for _ in range(2):
        assert (await alice.get(f"{GITHUB}/user")).status_code == 200
    limited = await alice.get(f"{GITHUB}/orgs")
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) >= 1


async def test_the_outbound_guard_applies(
    browser: AsyncClient,
    resources: Resources,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "github_token", SERVER_TOKEN)
    monkeypatch.setattr(resources.settings, "allow_private_urls", False)
    bob = browser
    before = len(fake_github.seen)
    error = assert_error(await bob.get(f"{GITHUB}/user"), 502, "UPSTREAM_ERROR")
    assert "loopback" in error["message"]
    assert len(fake_github.seen) == before


async def test_another_user_never_gets_the_callers_token(
    browser: AsyncClient, signed_in: SignedInFactory, fake_github: FakeGitHub
) -> None:
    await with_credential(browser)
    bob = await signed_in()
    before = len(fake_github.seen)
    for client in bob.clients().values():  # session cookie, API key, bearer token
        for path in ("user", "repos", "orgs"):
            response = await client.get(f"{GITHUB}/{path}")
            assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert len(fake_github.seen) == before
