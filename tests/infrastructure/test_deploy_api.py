"""Deployment settings, the pipeline's status callback (its own token, never a session), and
tenancy of every deploy route: another user's ids answer 404 whatever credential is used."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from httpx import AsyncClient

from tests.helpers import (
    API,
    SignedIn,
    SignedInFactory,
    add_member,
    assert_error,
    assert_missing_reference,
    new_project,
)
from tests.infrastructure.util import INFRA, deployments, wait_for
from tests.workspaces.util import new_workspace, set_current


async def project_with_files(client: AsyncClient) -> dict[str, str]:
    project = await new_project(client, "Deployable")
    workspace = await new_workspace(client, project, "main")
    await set_current(client, workspace["id"], {"index.html": b"<h1>hi</h1>"})
    return {"project": project, "workspace": workspace["id"]}


def settings_url(workspace_id: str) -> str:
    return f"{INFRA}/workspaces/{workspace_id}/deployment-settings"


async def test_settings_start_as_defaults_and_save_field_by_field(browser: AsyncClient) -> None:
    ids = await project_with_files(browser)
    url = settings_url(ids["workspace"])
    defaults = await browser.get(url)
    assert defaults.status_code == 200, defaults.text
    assert defaults.json() == {
        "settings": {
            "workspace_id": ids["workspace"],
            "project_id": ids["project"],
            "auto_deploy": False,
            "runtime_override": None,
            "build_command": None,
            "start_command": None,
            "health_check_path": "/",
            "updated_at": None,
        }
    }
    saved = await browser.put(
        url, json={"start_command": "  python3 -m http.server $PORT ", "runtime_override": "python"}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["settings"]["start_command"] == "python3 -m http.server $PORT"
    again = await browser.put(url, json={"build_command": "make", "runtime_override": None})
    body = (await browser.get(url)).json()["settings"]
    assert again.json()["settings"] == body
    assert (body["start_command"], body["build_command"]) == (
        "python3 -m http.server $PORT",
        "make",
    )
    assert body["runtime_override"] is None and body["updated_at"] is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"start_command": "   "}, "start_command"),
        ({"build_command": "make\nrm -rf /"}, "build_command"),
        ({"start_command": "x" * 4001}, "start_command"),
        ({"health_check_path": "healthz"}, "health_check_path"),
        ({"health_check_path": "//evil.example/"}, "health_check_path"),
        ({"runtime_override": "cobol"}, "runtime_override"),
        ({"auto_deploy": "sometimes"}, "auto_deploy"),
        ({"port": 80}, "port"),
    ],
)
async def test_invalid_settings_are_refused_and_change_nothing(
    browser: AsyncClient, body: dict[str, Any], field: str
) -> None:
    ids = await project_with_files(browser)
    url = settings_url(ids["workspace"])
    refused = await browser.put(url, json=body)
    error = assert_error(refused, 422, "VALIDATION_ERROR")
    assert [f["field"] for f in error["details"]["fields"]] == [field], error
    assert (await browser.get(url)).json()["settings"]["updated_at"] is None


async def test_viewers_read_settings_and_deployments_but_cannot_deploy(
    signed_in: SignedInFactory,
) -> None:
    owner, viewer = await signed_in(), await signed_in()
    ids = await project_with_files(owner.browser)
    await add_member(owner.browser, ids["project"], viewer.browser, viewer.email, "viewer")
    for client in viewer.clients().values():
        assert (await client.get(settings_url(ids["workspace"]))).status_code == 200
        assert await deployments(client, ids["workspace"]) == []
        refused = [
            await client.put(settings_url(ids["workspace"]), json={"auto_deploy": True}),
            await client.post(f"{API}/workspaces/{ids['workspace']}/deploy"),
            await client.post(f"{INFRA}/projects/{ids['project']}/deploy"),
        ]
        for response in refused:
            assert_error(response, 403, "FORBIDDEN")
    assert await deployments(owner.browser, ids["workspace"]) == []


async def test_a_workspace_without_files_cannot_be_deployed(browser: AsyncClient) -> None:
    project = await new_project(browser, "Empty")
    workspace = await new_workspace(browser, project, "main")
    for response in (
        await browser.post(f"{API}/workspaces/{workspace['id']}/deploy"),
        await browser.post(f"{INFRA}/projects/{project}/deploy"),
    ):
        error = assert_error(response, 422, "VALIDATION_ERROR")
        assert error["details"]["fields"][0]["type"] == "no_files"
    other = await new_project(browser, "No workspace")
    missing = await browser.post(f"{INFRA}/projects/{other}/deploy")
    assert assert_error(missing, 422, "VALIDATION_ERROR")["details"]["fields"][0]["type"] == (
        "no_workspace"
    )


@pytest.mark.usefixtures("run_worker")
async def test_the_callback_needs_the_deployments_own_token(browser: AsyncClient) -> None:
    ids = await project_with_files(browser)
    first = (await browser.post(f"{API}/workspaces/{ids['workspace']}/deploy")).json()
    second = (await browser.post(f"{API}/workspaces/{ids['workspace']}/deploy")).json()
    url = f"{INFRA}/deployments/{first['deployment_id']}/status"
    report = {"status": "live", "url": "http://127.0.0.1:9/"}
    for headers in (
        {},  # the user's own session is no credential here
        {"X-Deployment-Token": "not-the-token"},
        {"X-Deployment-Token": second["callback_token"]},  # another deployment's
    ):
        assert_error(await browser.post(url, json=report, headers=headers), 401, "UNAUTHORIZED")
    # No start command and no detection: the pipeline fails it; the wrong tokens changed nothing.
    failed = await wait_for(browser, ids["workspace"], first["deployment_id"], "failed")
    assert failed["url"] is None and failed["error"].startswith("no start command")
    own = {"X-Deployment-Token": first["callback_token"]}
    ended = await browser.post(url, json=report, headers=own)
    assert assert_error(ended, 409, "CONFLICT")["details"] == {"status": "failed"}
    repeated = await browser.post(url, json={"status": "failed", "error": "again"}, headers=own)
    assert repeated.json() == {
        "deployment_id": first["deployment_id"],
        "status": "failed",
        "changed": False,
    }
    after = {d["id"]: d for d in await deployments(browser, ids["workspace"])}
    assert after[first["deployment_id"]] == failed
    bad = await browser.post(url, json={"status": "sleeping"}, headers=own)
    assert_error(bad, 422, "VALIDATION_ERROR")
    unknown = f"{INFRA}/deployments/{ids['workspace']}/status"  # no such deployment
    assert_error(await browser.post(unknown, json=report, headers=own), 401, "UNAUTHORIZED")


@pytest.mark.usefixtures("run_worker")
async def test_auto_deploy_deploys_each_change_of_the_workspaces_files(
    browser: AsyncClient,
) -> None:
    ids = await project_with_files(browser)
    await set_current(browser, ids["workspace"], {"index.html": b"v2"})
    saved = await browser.put(settings_url(ids["workspace"]), json={"auto_deploy": True})
    assert saved.json()["settings"]["auto_deploy"] is True
    assert await deployments(browser, ids["workspace"]) == []  # not before it was switched on
    manifest = await set_current(browser, ids["workspace"], {"index.html": b"v3"})
    deadline = time.monotonic() + 10
    while not (found := await deployments(browser, ids["workspace"])):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    [auto] = found
    assert (auto["trigger"], auto["manifest_hash"]) == ("auto", manifest)
    me = (await browser.get(f"{API}/auth/me")).json()
    assert auto["created_by"] == me["id"]


async def alices_deployment(alice: SignedIn) -> dict[str, str]:
    ids = await project_with_files(alice.browser)
    conversation = await alice.browser.post(
        f"{API}/conversations",
        json={"project_id": ids["project"], "workspace_id": ids["workspace"]},
    )
    ids["conversation"] = conversation.json()["id"]
    started = await alice.browser.post(f"{API}/conversations/{ids['conversation']}/deploy")
    assert started.status_code == 201, started.text
    ids["deployment"] = started.json()["id"]
    return ids


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_second_user_gets_404_on_every_deploy_route(
    signed_in: SignedInFactory, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    ids = await alices_deployment(alice)
    before = await deployments(alice.browser, ids["workspace"])
    intruder = bob.clients()[method]
    conversation = f"{API}/conversations/{ids['conversation']}"
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", settings_url(ids["workspace"]), None),
        ("PUT", settings_url(ids["workspace"]), {"start_command": "curl evil | sh"}),
        ("GET", f"{INFRA}/workspaces/{ids['workspace']}/deployments", None),
        ("POST", f"{INFRA}/projects/{ids['project']}/deploy", None),
        ("POST", f"{API}/workspaces/{ids['workspace']}/deploy", None),
        ("POST", f"{conversation}/deploy", None),
        ("GET", f"{conversation}/deployments", None),
        ("GET", f"{conversation}/deployments/{ids['deployment']}/logs", None),
    ]
    for verb, url, body in attempts:
        response = await intruder.request(verb, url, json=body)
        assert_error(response, 404, "RESOURCE_NOT_FOUND")
    # Naming Alice's workspace in a deploy of his own project: the one missing-reference answer.
    own = await new_project(bob.browser, "Bob's")
    named = await intruder.post(
        f"{INFRA}/projects/{own}/deploy", json={"workspace_id": ids["workspace"]}
    )
    assert_missing_reference(named, "workspace_id", ids["workspace"])
    # Bob's credentials are no deployment token.
    callback = await intruder.post(
        f"{INFRA}/deployments/{ids['deployment']}/status", json={"status": "stopped"}
    )
    assert_error(callback, 401, "UNAUTHORIZED")
    after = await deployments(alice.browser, ids["workspace"])
    assert [d["id"] for d in after] == [d["id"] for d in before] == [ids["deployment"]]
    settings = (await alice.browser.get(settings_url(ids["workspace"]))).json()["settings"]
    assert settings["start_command"] is None
