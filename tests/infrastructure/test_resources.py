"""Provisioned resources: the local provider's SQLite files and Redis databases, a cloud
plug-in's, listed masked, deleted at the provider first."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from orbiter.infrastructure.providers import PROVIDERS, CannotProvision, ResourceType
from orbiter.infrastructure.providers.local import MARKER, redis_database_url
from orbiter.infrastructure.resources import ProjectResource, provision_resource, resource_env
from orbiter.runtime.resources import Resources
from tests.helpers import API, SignedIn, SignedInFactory, add_member, assert_error, new_project
from tests.infrastructure.fake_cloud import GOOD_TOKEN, STATE, FakeCloud

METHODS = ["cookie", "api_key", "bearer"]


def resources_url(project_id: str, resource_id: str | None = None) -> str:
    base = f"{API}/infrastructure/projects/{project_id}/resources"
    return f"{base}/{resource_id}" if resource_id else base


async def provision(
    resources: Resources, project_id: str, resource_type: ResourceType, provider: str = "local"
) -> ProjectResource:
    async with resources.sessionmaker() as db:
        made = await provision_resource(
            db,
            resources,
            project_id=uuid.UUID(project_id),
            resource_type=resource_type,
            provider=provider,
        )
        await db.commit()
    return made


@pytest.fixture
def fake_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PROVIDERS, "fakecloud", FakeCloud)
    monkeypatch.setattr(STATE, "down", False)
    monkeypatch.setattr(STATE, "fail_destroy", False)


async def test_local_sqlite_is_a_real_file_listed_masked_and_deleted(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    alice = await signed_in()
    project = await new_project(alice.browser)
    made = await provision(resources, project, ResourceType.SQLITE)
    assert made.created and made.provider == "local"
    path = Path(made.env["SQLITE_PATH"])
    assert path.read_bytes().startswith(b"SQLite format 3\x00")
    assert made.env["DATABASE_URL"] == f"sqlite:///{path}"
    again = await provision(resources, project, ResourceType.SQLITE)
    assert (again.id, again.created) == (made.id, False)

    listed = await alice.api.get(resources_url(project))
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["data"]
    assert row["id"] == str(made.id) and row["resource_type"] == "sqlite"
    assert row["connection"] == {"url": "sqlite://••••", "path": "••••"}
    assert row["env_vars"] == ["DATABASE_URL", "SQLITE_PATH"]
    assert str(path) not in listed.text
    got = await alice.cli.get(resources_url(project, row["id"]))
    assert got.json() == row

    deleted = await alice.browser.delete(resources_url(project, row["id"]))
    assert deleted.status_code == 204, deleted.text
    assert not path.exists()
    assert (await alice.api.get(resources_url(project))).json()["data"] == []


async def test_local_redis_gets_a_free_database_or_says_why_not(
    signed_in: SignedInFactory, resources: Resources, backend: str
) -> None:
    alice = await signed_in()
    project = await new_project(alice.browser)
    if backend == "embedded":
        with pytest.raises(CannotProvision, match="ORBITER_REDIS_URL"):
            await provision(resources, project, ResourceType.REDIS)
        return
    base = resources.settings.redis_url
    async with Redis.from_url(redis_database_url(base, 1)) as taken:
        await taken.flushdb()
        await taken.set("someone-else", "data")  # database 1 holds data: not handed out
    try:
        made = await provision(resources, project, ResourceType.REDIS)
        assert made.details["database"] == 2
        assert made.env == {"REDIS_URL": redis_database_url(base, 2)}
        async with Redis.from_url(made.env["REDIS_URL"]) as redis:
            assert await redis.get(MARKER) == str(made.id).encode()
            await redis.set("app-key", "1")
        deleted = await alice.browser.delete(resources_url(project, str(made.id)))
        assert deleted.status_code == 204, deleted.text
        async with Redis.from_url(made.env["REDIS_URL"]) as redis:
            assert await redis.dbsize() == 0
    finally:
        async with Redis.from_url(redis_database_url(base, 1)) as taken:
            assert await taken.get("someone-else") == b"data"
            await taken.flushdb()


@pytest.mark.parametrize("resource_type", [ResourceType.POSTGRESQL, ResourceType.MONGODB])
async def test_local_says_clearly_what_it_cannot_provision(
    signed_in: SignedInFactory, resources: Resources, resource_type: ResourceType
) -> None:
    alice = await signed_in()
    project = await new_project(alice.browser)
    with pytest.raises(CannotProvision) as refused:
        await provision(resources, project, resource_type)
    assert f"The local provider cannot provision {resource_type}" in refused.value.message
    assert refused.value.status_code == 422
    assert (await alice.api.get(resources_url(project))).json()["data"] == []


async def test_a_cloud_plugin_resource_is_masked_and_stays_when_destroying_fails(
    signed_in: SignedInFactory, resources: Resources, fake_cloud: None
) -> None:
    alice = await signed_in()
    project = await new_project(alice.browser)
    made = await provision(resources, project, ResourceType.POSTGRESQL, provider="fakecloud")
    secret = made.env["DATABASE_URL"]
    async with resources.sessionmaker() as db:
        assert await resource_env(db, resources, project_id=uuid.UUID(project)) == {
            "DATABASE_URL": secret
        }
    row = (await alice.browser.get(resources_url(project, str(made.id)))).json()
    assert row["connection"] == {"url": "postgresql://app:••••@db.cloud.test:5432/app"}
    assert row["details"] == {"region": "eu"} and secret.split("@")[0] not in str(row)

    STATE.fail_destroy = True
    failed = await alice.browser.delete(resources_url(project, str(made.id)))
    error = assert_error(failed, 502, "UPSTREAM_ERROR")
    assert "could not delete the database" in error["message"]
    assert (await alice.browser.get(resources_url(project, str(made.id)))).status_code == 200

    STATE.fail_destroy = False
    assert (await alice.browser.delete(resources_url(project, str(made.id)))).status_code == 204
    assert STATE.destroyed[-1] == str(made.id)


async def test_a_cloud_plugin_credential_is_validated_by_its_provider(
    signed_in: SignedInFactory, fake_cloud: None
) -> None:
    alice = await signed_in()
    url = f"{API}/infrastructure/credentials"
    bad = await alice.browser.post(url, json={"provider": "fakecloud", "api_token": "nope"})
    assert_error(bad, 422, "VALIDATION_ERROR")
    STATE.down = True
    down = await alice.browser.post(url, json={"provider": "fakecloud", "api_token": GOOD_TOKEN})
    assert_error(down, 502, "UPSTREAM_ERROR")
    STATE.down = False
    good = await alice.browser.post(url, json={"provider": "fakecloud", "api_token": GOOD_TOKEN})
    assert good.status_code == 201, good.text
    [row] = (await alice.browser.get(url)).json()["data"]
    assert row["account"] == {"team": "acme"}


async def _shared_project(
    alice: SignedIn, bob: SignedIn, resources: Resources, role: str | None
) -> tuple[str, str]:
    project = await new_project(alice.browser)
    made = await provision(resources, project, ResourceType.SQLITE)
    if role:
        await add_member(alice.browser, project, bob.browser, bob.email, role)
    return project, str(made.id)


@pytest.mark.parametrize("method", METHODS)
async def test_resources_are_for_members_only(
    signed_in: SignedInFactory, resources: Resources, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    project, resource = await _shared_project(alice, bob, resources, role=None)
    intruder = bob.clients()[method]
    attempts: list[tuple[str, str]] = [
        ("GET", resources_url(project)),
        ("GET", resources_url(project, resource)),
        ("DELETE", resources_url(project, resource)),
    ]
    for verb, url in attempts:
        assert_error(await intruder.request(verb, url), 404, "RESOURCE_NOT_FOUND")
    # Bob's own project does not reach Alice's resource either.
    own = await new_project(bob.browser)
    response = await intruder.get(resources_url(own, resource))
    assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert (await alice.browser.get(resources_url(project, resource))).status_code == 200


async def test_a_viewer_reads_but_does_not_delete(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    alice, bob = await signed_in(), await signed_in()
    project, resource = await _shared_project(alice, bob, resources, role="viewer")
    listed: dict[str, Any] = (await bob.api.get(resources_url(project))).json()
    assert [r["id"] for r in listed["data"]] == [resource]
    assert_error(await bob.api.delete(resources_url(project, resource)), 403, "FORBIDDEN")
    assert (await alice.browser.get(resources_url(project, resource))).status_code == 200
