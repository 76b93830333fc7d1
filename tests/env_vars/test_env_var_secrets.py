"""Who may read env var values in clear, how they are stored, and key rotation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from orbiter.core.crypto import SecretBox, new_key_entry
from orbiter.models import EnvVar
from orbiter.runtime.resources import Resources
from tests.env_vars.conftest import Owner
from tests.helpers import assert_error, create_api_key, new_client

SECRET = "pg-pass-7c1e9b3a5d"


async def test_deploy_key_with_secrets_read_gets_every_value_in_clear(owner: Owner) -> None:
    await owner.set("DB_PASSWORD", SECRET, is_secret=True)
    await owner.set("LOG_LEVEL", "info", is_secret=False)
    response = await owner.deployer.get(f"{owner.url}/values")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "variables": [
            {"key": "DB_PASSWORD", "value": SECRET, "is_secret": True},
            {"key": "LOG_LEVEL", "value": "info", "is_secret": False},
        ]
    }


async def test_values_need_an_api_key_with_the_secrets_read_scope(
    owner: Owner, app: FastAPI
) -> None:
    await owner.set("DB_PASSWORD", SECRET)
    # A browser session, a CLI token and an API key with the default scopes are all refused.
    for client in owner.person.clients().values():
        response = await client.get(f"{owner.url}/values")
        error = assert_error(response, 403, "FORBIDDEN")
        assert "secrets:read" in error["message"]
        assert SECRET not in response.text
    # The scope alone is not enough: every GET with an API key needs `read` too.
    key = await create_api_key(owner.person.browser, ["secrets:read"])
    async with new_client(app, **{"X-API-Key": key}) as scoped_only:
        response = await scoped_only.get(f"{owner.url}/values")
        assert_error(response, 403, "FORBIDDEN")
        assert SECRET not in response.text
    anonymous = new_client(app)
    async with anonymous:
        assert_error(await anonymous.get(f"{owner.url}/values"), 401, "UNAUTHORIZED")


async def test_values_are_encrypted_at_rest(owner: Owner, resources: Resources) -> None:
    await owner.set("DB_PASSWORD", SECRET, is_secret=True)
    await owner.set("PLAIN_SETTING", "visible-plain-value", is_secret=False)
    async with resources.sessionmaker() as db:
        rows = (await db.scalars(select(EnvVar))).all()
    assert {row.key for row in rows} == {"DB_PASSWORD", "PLAIN_SETTING"}
    for row in rows:
        assert row.value_encrypted.startswith("v1.")
        assert SECRET not in row.value_encrypted
        assert "visible-plain-value" not in row.value_encrypted
        assert SECRET[:6] not in row.value_encrypted


async def test_a_ciphertext_moved_to_another_variable_does_not_open(
    owner: Owner,
    resources: Resources,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Values are bound to their project and key: a database-level swap is detected."""
    await owner.set("DB_PASSWORD", SECRET, is_secret=True)
    await owner.set("PUBLIC_NAME", "shop", is_secret=False)
    async with resources.sessionmaker() as db:
        sealed = await db.scalar(select(EnvVar.value_encrypted).where(EnvVar.key == "DB_PASSWORD"))
        await db.execute(
            update(EnvVar).where(EnvVar.key == "PUBLIC_NAME").values(value_encrypted=sealed)
        )
        await db.commit()
    for response in (
        await owner.deployer.get(f"{owner.url}/values"),
        await owner.person.browser.get(owner.url),
    ):
        error = assert_error(response, 500, "INTERNAL_ERROR")
        assert error["details"] == {"request_id": response.headers["X-Request-ID"]}
        assert SECRET not in response.text
    assert "'PUBLIC_NAME'" in caplog.text and owner.project_id in caplog.text
    # Setting the variable again repairs it.
    await owner.set("PUBLIC_NAME", "shop", is_secret=False)
    assert await owner.values() == {"DB_PASSWORD": SECRET, "PUBLIC_NAME": "shop"}


@pytest.fixture
def swap_box(resources: Resources) -> Iterator[list[SecretBox]]:
    """Lets a test replace the app's SecretBox; the original is put back afterwards."""
    original = resources.secrets
    try:
        yield [original]
    finally:
        resources.secrets = original


async def test_values_written_under_an_old_key_still_open_after_rotation(
    owner: Owner, resources: Resources, swap_box: list[SecretBox]
) -> None:
    old_entry = new_key_entry("old")
    resources.secrets = SecretBox.from_setting([old_entry])
    await owner.set("OLD_SECRET", SECRET)

    # ORBITER_ENCRYPTION_KEYS="new:...,old:..." : the new key first, the old one still listed.
    resources.secrets = SecretBox.from_setting([new_key_entry("new"), old_entry])
    assert await owner.values() == {"OLD_SECRET": SECRET}
    await owner.set("NEW_SECRET", "fresh")
    await owner.set("OLD_SECRET", SECRET + "-rotated")
    async with resources.sessionmaker() as db:
        rows = (await db.execute(select(EnvVar.key, EnvVar.value_encrypted))).all()
    stored = {key: sealed for key, sealed in rows}
    assert stored["NEW_SECRET"].startswith("v1.new.")
    assert stored["OLD_SECRET"].startswith("v1.new."), "a rewrite uses the newest key"
    assert await owner.values() == {"OLD_SECRET": SECRET + "-rotated", "NEW_SECRET": "fresh"}


async def test_a_value_under_a_key_no_longer_configured_is_a_clear_503(
    owner: Owner, resources: Resources, swap_box: list[SecretBox]
) -> None:
    resources.secrets = SecretBox.from_setting([new_key_entry("retired")])
    await owner.set("ORPHAN", SECRET)
    resources.secrets = swap_box[0]
    response = await owner.deployer.get(f"{owner.url}/values")
    assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert SECRET not in response.text
