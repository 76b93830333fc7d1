"""Roles and isolation: viewers read masked lists, editors write, strangers see nothing."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.env_vars.conftest import PROJECTS, Owner
from tests.helpers import (
    SignedIn,
    SignedInFactory,
    add_member,
    assert_error,
    create_api_key,
    new_client,
)

SECRET = "whsec-31b8d0f2aa"


async def member(owner: Owner, person: SignedIn, role: str) -> None:
    await add_member(owner.person.browser, owner.project_id, person.browser, person.email, role)


async def every_route(client: AsyncClient, url: str) -> dict[str, Response]:
    return {
        "list": await client.get(url),
        "set": await client.post(url, json={"key": "INTRUDER", "value": "x"}),
        "bulk": await client.put(
            url, json={"variables": [{"key": "WEBHOOK_SECRET", "value": "x"}]}
        ),
        "delete": await client.delete(f"{url}/WEBHOOK_SECRET"),
        "values": await client.get(f"{url}/values"),
    }


async def test_a_stranger_gets_404_on_every_route_with_every_credential(
    owner: Owner, signed_in: SignedInFactory, app: FastAPI
) -> None:
    await owner.set("WEBHOOK_SECRET", SECRET)
    await owner.set("PUBLIC", "shown", is_secret=False)
    stranger = await signed_in()
    deploy_key = await create_api_key(stranger.browser, ["read", "write", "secrets:read"])
    clients = {**stranger.clients(), "deploy_key": new_client(app, **{"X-API-Key": deploy_key})}
    try:
        for method, client in clients.items():
            for route, response in (await every_route(client, owner.url)).items():
                error = assert_error(response, 404, "RESOURCE_NOT_FOUND")
                assert error["message"] == "Project not found", (method, route)
                assert SECRET not in response.text and "shown" not in response.text
    finally:
        await clients["deploy_key"].aclose()
    assert await owner.values() == {"WEBHOOK_SECRET": SECRET, "PUBLIC": "shown"}


async def test_an_unknown_project_is_404_and_a_malformed_id_422(owner: Owner) -> None:
    unknown = f"{PROJECTS}/00000000-0000-4000-8000-000000000000/env-vars"
    for client in owner.person.clients().values():
        for response in (await every_route(client, unknown)).values():
            assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert_error(await owner.deployer.get(f"{unknown}/values"), 404, "RESOURCE_NOT_FOUND")
    assert_error(
        await owner.person.browser.get(f"{PROJECTS}/nope/env-vars"), 422, "VALIDATION_ERROR"
    )


async def test_a_viewer_sees_plain_values_and_masked_secrets_but_cannot_write(
    owner: Owner, signed_in: SignedInFactory, app: FastAPI
) -> None:
    await owner.set("WEBHOOK_SECRET", SECRET)
    await owner.set("PUBLIC", "shown", is_secret=False)
    viewer = await signed_in()
    await member(owner, viewer, "viewer")
    key = await create_api_key(viewer.browser, ["read", "write", "secrets:read"])
    clients = {**viewer.clients(), "deploy_key": new_client(app, **{"X-API-Key": key})}
    try:
        for client in clients.values():
            listed = await owner.listed(client)
            assert listed["PUBLIC"]["value"] == "shown"
            assert listed["WEBHOOK_SECRET"]["value"] is None
            responses = await every_route(client, owner.url)
            assert responses["list"].status_code == 200
            for route in ("set", "bulk", "delete", "values"):
                assert_error(responses[route], 403, "FORBIDDEN")
                assert SECRET not in responses[route].text
    finally:
        await clients["deploy_key"].aclose()
    assert await owner.values() == {"WEBHOOK_SECRET": SECRET, "PUBLIC": "shown"}


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_an_editor_may_set_bulk_set_and_delete(
    owner: Owner, signed_in: SignedInFactory, method: str
) -> None:
    editor = await signed_in()
    await member(owner, editor, "editor")
    client = editor.clients()[method]
    created = await client.post(owner.url, json={"key": "BY_EDITOR", "value": "e"})
    assert created.status_code == 201, created.text
    bulk = await client.put(owner.url, json={"variables": [{"key": "BULK", "value": "b"}]})
    assert bulk.json() == {"success": True, "count": 1}
    deleted = await client.delete(f"{owner.url}/BULK")
    assert deleted.status_code == 204
    assert await owner.values() == {"BY_EDITOR": "e"}


async def test_an_editor_deploy_key_may_read_values(
    owner: Owner, signed_in: SignedInFactory, app: FastAPI
) -> None:
    await owner.set("WEBHOOK_SECRET", SECRET)
    editor = await signed_in()
    await member(owner, editor, "editor")
    key = await create_api_key(editor.browser, ["read", "secrets:read"])
    async with new_client(app, **{"X-API-Key": key}) as deployer:
        response = await deployer.get(f"{owner.url}/values")
    assert response.status_code == 200, response.text
    assert response.json()["variables"] == [
        {"key": "WEBHOOK_SECRET", "value": SECRET, "is_secret": True}
    ]


async def test_writes_by_cookie_need_the_csrf_token(owner: Owner, app: FastAPI) -> None:
    await owner.set("KEEP", "kept")
    cookies = owner.person.browser.cookies
    async with new_client(app) as no_csrf:
        no_csrf.cookies = cookies
        assert (await no_csrf.get(owner.url)).status_code == 200
        for response in (
            await no_csrf.post(owner.url, json={"key": "KEEP", "value": "changed"}),
            await no_csrf.put(owner.url, json={"variables": [{"key": "KEEP", "value": "c"}]}),
            await no_csrf.delete(f"{owner.url}/KEEP"),
        ):
            assert_error(response, 403, "FORBIDDEN")
    assert await owner.values() == {"KEEP": "kept"}


async def test_a_read_only_api_key_cannot_write(owner: Owner, app: FastAPI) -> None:
    key = await create_api_key(owner.person.browser, ["read"])
    async with new_client(app, **{"X-API-Key": key}) as reader:
        assert (await reader.get(owner.url)).status_code == 200
        response = await reader.post(owner.url, json={"key": "NOPE", "value": "x"})
        assert_error(response, 403, "FORBIDDEN")
    assert await owner.values() == {}


async def test_deleting_the_project_deletes_its_variables(owner: Owner) -> None:
    await owner.set("WEBHOOK_SECRET", SECRET)
    deleted = await owner.person.browser.delete(f"{PROJECTS}/{owner.project_id}")
    assert deleted.status_code == 204, deleted.text
    assert_error(await owner.deployer.get(f"{owner.url}/values"), 404, "RESOURCE_NOT_FOUND")
