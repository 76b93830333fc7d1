"""Who may read and change a workspace's files: members by role; nobody else learns it exists."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.files.util import FILES, batch, content, create, files_of, remove, tree, update
from tests.helpers import SignedInFactory, add_member, assert_error, browser_for, new_project
from tests.workspaces.util import new_workspace


async def every_route(client: AsyncClient, workspace_id: str) -> dict[str, Response]:
    params = {"workspace_id": workspace_id}
    return {
        "tree": await client.get(FILES, params=params),
        "content": await content(client, "a.txt", workspace_id),
        "create": await client.post(FILES, params=params, json={"path": "b.txt", "content": "b"}),
        "update": await update(client, "a.txt", "changed", workspace_id),
        "delete": await remove(client, "a.txt", workspace_id),
        "batch": await batch(client, [{"op": "delete", "path": "a.txt"}], workspace_id),
    }


async def test_members_read_by_role_and_others_get_404(
    app: FastAPI, browser: AsyncClient, signed_in: SignedInFactory
) -> None:
    project_id = await new_project(browser)
    workspace_id = str((await new_workspace(browser, project_id, "main"))["id"])
    await create(browser, "a.txt", "secret", workspace_id)
    viewer, viewer_user = await browser_for(app)
    await add_member(browser, project_id, viewer, viewer_user["email"], "viewer")
    other = await signed_in()
    stranger = other.browser

    for method, client in other.clients().items():  # cookie, API key, bearer token
        for name, response in (await every_route(client, workspace_id)).items():
            assert_error(response, 404, "RESOURCE_NOT_FOUND")
            assert "secret" not in response.text, (method, name)
    missing = await every_route(stranger, str(uuid.uuid4()))
    assert missing["tree"].json() == (await every_route(stranger, workspace_id))["tree"].json()

    answers = await every_route(viewer, workspace_id)
    assert answers["tree"].status_code == 200
    assert answers["content"].json()["content"] == "secret"
    for name in ("create", "update", "delete", "batch"):
        assert_error(answers[name], 403, "FORBIDDEN")

    assert await files_of(browser, workspace_id) == {"a.txt"}
    assert (await content(browser, "a.txt", workspace_id)).json()["content"] == "secret"
    # Each user's scratch workspace is their own.
    await create(browser, "mine.txt", "mine")
    assert await tree(stranger) == []
    assert_error(await content(stranger, "mine.txt"), 404, "RESOURCE_NOT_FOUND")
    await viewer.aclose()
