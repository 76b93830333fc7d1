"""A workspace's current manifest: a compare-and-set that lets exactly one of two racing
writers win, and refuses manifests the caller never uploaded."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from httpx import AsyncClient

from tests.blobs.util import upload_tree
from tests.helpers import API, SignedInFactory, add_member, assert_error, new_client, new_project
from tests.workspaces.util import new_workspace


async def setup(client: AsyncClient) -> tuple[str, str, str]:
    project = await new_project(client)
    workspace = await new_workspace(client, project, "laptop")
    return project, workspace["id"], f"{API}/workspaces/{workspace['id']}/current-manifest"


async def current(client: AsyncClient, workspace_id: str) -> tuple[str | None, int]:
    body = (await client.get(f"{API}/workspaces/{workspace_id}")).json()["workspace"]
    return body["current_manifest_hash"], body["version"]


async def test_setting_from_none_then_moving_on_from_the_previous_hash(
    browser: AsyncClient,
) -> None:
    _, workspace, url = await setup(browser)
    one = await upload_tree(browser, {"a.txt": b"1"})
    two = await upload_tree(browser, {"a.txt": b"2"})
    first = await browser.post(url, json={"manifest_hash": one, "previous_manifest_hash": None})
    assert first.status_code == 200, first.text
    assert first.json() == {"updated": True, "current_manifest_hash": one, "version": 1}
    second = await browser.post(url, json={"manifest_hash": two, "previous_manifest_hash": one})
    assert second.json() == {"updated": True, "current_manifest_hash": two, "version": 2}
    assert await current(browser, workspace) == (two, 2)


async def test_a_stale_previous_hash_is_409_with_what_is_current(browser: AsyncClient) -> None:
    _, workspace, url = await setup(browser)
    one = await upload_tree(browser, {"a.txt": b"1"})
    two = await upload_tree(browser, {"a.txt": b"2"})
    three = await upload_tree(browser, {"a.txt": b"3"})
    await browser.post(url, json={"manifest_hash": one, "previous_manifest_hash": None})
    await browser.post(url, json={"manifest_hash": two, "previous_manifest_hash": one})

    error = assert_error(
        await browser.post(url, json={"manifest_hash": three, "previous_manifest_hash": one}),
        409,
        "CONFLICT",
    )
    assert error["details"] == {
        "updated": False,
        "conflict": True,
        "current_manifest_hash": two,
        "version": 2,
    }
    # Expecting "none yet" when there is one is stale too.
    error = assert_error(
        await browser.post(url, json={"manifest_hash": three, "previous_manifest_hash": None}),
        409,
        "CONFLICT",
    )
    assert error["details"]["current_manifest_hash"] == two
    assert await current(browser, workspace) == (two, 2)


async def test_without_previous_hash_the_update_is_unconditional(browser: AsyncClient) -> None:
    _, _workspace, url = await setup(browser)
    one = await upload_tree(browser, {"a.txt": b"1"})
    two = await upload_tree(browser, {"a.txt": b"2"})
    assert (await browser.post(url, json={"manifest_hash": one})).status_code == 200
    forced = await browser.post(url, json={"manifest_hash": two})
    assert forced.json() == {"updated": True, "current_manifest_hash": two, "version": 2}
    # Setting the same hash again still counts as a change of state (version moves).
    same = await browser.post(url, json={"manifest_hash": two, "previous_manifest_hash": two})
    assert same.json()["version"] == 3


async def test_a_manifest_the_caller_never_uploaded_is_400_and_changes_nothing(
    signed_in: SignedInFactory,
) -> None:
    alice, bob = await signed_in(), await signed_in()
    _, workspace, url = await setup(alice.browser)
    bobs = await upload_tree(bob.browser, {"secret.txt": b"bob"})
    nobody = "ab" * 32
    for hash_ in (bobs, nobody):
        error = assert_error(
            await alice.browser.post(url, json={"manifest_hash": hash_}), 400, "BAD_REQUEST"
        )
        assert error["details"]["manifest_missing"] is True
        assert error["details"]["missing"] == [hash_]
    assert await current(alice.browser, workspace) == (None, 0)


async def test_bad_hashes_are_validation_errors(browser: AsyncClient) -> None:
    _, workspace, url = await setup(browser)
    for body in (
        {},
        {"manifest_hash": "xyz"},
        {"manifest_hash": "AB" * 32},
        {"manifest_hash": "ab" * 32, "previous_manifest_hash": "short"},
        {"manifest_hash": "ab" * 32, "extra": 1},
    ):
        assert_error(await browser.post(url, json=body), 422, "VALIDATION_ERROR")
    assert await current(browser, workspace) == (None, 0)


async def test_a_member_may_set_a_manifest_the_project_already_uses(
    signed_in: SignedInFactory,
) -> None:
    owner, editor = await signed_in(), await signed_in()
    project, _workspace, url = await setup(owner.browser)
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    manifest = await upload_tree(owner.browser, {"a.txt": b"a"})
    assert (await owner.browser.post(url, json={"manifest_hash": manifest})).status_code == 200
    other = await new_workspace(editor.cli, project, "editor")
    response = await editor.cli.post(
        f"{API}/workspaces/{other['id']}/current-manifest", json={"manifest_hash": manifest}
    )
    assert response.status_code == 200, response.text


async def test_two_racing_writers_with_the_same_previous_hash_exactly_one_wins(
    app: FastAPI, signed_in: SignedInFactory
) -> None:
    user = await signed_in()
    _, workspace, url = await setup(user.cli)
    base = await upload_tree(user.cli, {"a.txt": b"base"})
    await user.cli.post(url, json={"manifest_hash": base})
    for round_ in range(5):
        ours = await upload_tree(user.cli, {"a.txt": f"ours {round_}".encode()})
        theirs = await upload_tree(user.cli, {"a.txt": f"theirs {round_}".encode()})
        expected, version = await current(user.cli, workspace)
        async with (
            new_client(app, Authorization=f"Bearer {user.token}") as one,
            new_client(app, **{"X-API-Key": user.api_key}) as two,
        ):
            results = await asyncio.gather(
                one.post(url, json={"manifest_hash": ours, "previous_manifest_hash": expected}),
                two.post(url, json={"manifest_hash": theirs, "previous_manifest_hash": expected}),
            )
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 409], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 200).json()
        loser = next(r for r in results if r.status_code == 409).json()["error"]["details"]
        assert loser["conflict"] is True and loser["updated"] is False
        assert loser["current_manifest_hash"] == winner["current_manifest_hash"]
        assert await current(user.cli, workspace) == (winner["current_manifest_hash"], version + 1)
