"""Who may sync a workspace: editors; viewers may only analyse; nobody else learns it exists."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.helpers import API, SignedInFactory, add_member, assert_error, browser_for
from tests.sync.util import current_hash, forked, prepare, sync_url


async def every_route(
    client: AsyncClient, workspace_id: str, preview_id: str
) -> dict[str, Response]:
    return {
        "prepare": await client.post(sync_url(workspace_id, "prepare")),
        "execute": await client.post(
            sync_url(workspace_id, "execute"), json={"preview_id": preview_id}
        ),
        "undo": await client.post(sync_url(workspace_id, "undo")),
        "analyze": await client.post(f"{API}/workspaces/{workspace_id}/drift/analyze"),
    }


async def test_others_get_404_and_viewers_403(
    app: FastAPI, browser: AsyncClient, signed_in: SignedInFactory
) -> None:
    scene = await forked(browser, {"a": b"1\n"}, {"a": b"2\n"}, {"a": b"1\n"})
    preview = await prepare(browser, scene.workspace_id)
    before = await current_hash(browser, scene.workspace_id)
    other = await signed_in()
    for method, client in other.clients().items():  # cookie, API key, bearer token
        for name, response in (
            await every_route(client, scene.workspace_id, preview["id"])
        ).items():
            assert response.status_code == 404, (method, name, response.text)
            assert_error(response, 404, "RESOURCE_NOT_FOUND")
    missing = await every_route(browser, str(uuid.uuid4()), preview["id"])
    assert {r.status_code for r in missing.values()} == {404}

    viewer, viewer_user = await browser_for(app)
    await add_member(browser, scene.project_id, viewer, viewer_user["email"], "viewer")
    answers = await every_route(viewer, scene.workspace_id, preview["id"])
    for name in ("prepare", "execute", "undo"):
        assert_error(answers[name], 403, "FORBIDDEN")
    assert answers["analyze"].status_code == 200
    assert await current_hash(browser, scene.workspace_id) == before
    await viewer.aclose()
