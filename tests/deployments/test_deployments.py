"""Deployments: CRUD, roles, the pinned version and the key that is shown once."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from httpx import AsyncClient

from orbiter.core.db import transaction
from orbiter.models import Deployment
from orbiter.runtime.resources import Resources
from tests.agents.util import make_agent
from tests.deployments.util import deploy, deployed_then_edited, make_workflow
from tests.helpers import (
    API,
    SignedInFactory,
    add_member,
    assert_error,
    assert_missing_reference,
    new_project,
)


async def test_deploying_a_workflow_pins_its_current_version_and_shows_the_key_once(
    browser: AsyncClient, resources: Resources
) -> None:
    workflow = await make_workflow(browser)
    created = await deploy(
        browser, "workflow", workflow["id"], environment="staging", config={"region": "eu"}
    )
    assert created["target_version"] == workflow["content_hash"]
    assert created["pinned"] == {"version": 1}
    assert created["project_id"] == workflow["project_id"]
    assert (created["environment"], created["config"]) == ("staging", {"region": "eu"})
    key = created["key"]
    assert key.startswith("odk_") and len(key) > 40
    assert created["key_prefix"] == key[:12] and created["key_active"] is True
    assert created["last_invoked_at"] is None

    url = f"{API}/deployments/{created['id']}"
    shown = (await browser.get(url)).json()
    listed = (await browser.get(f"{API}/deployments")).json()
    assert shown == {k: v for k, v in created.items() if k != "key"}
    assert listed["data"] == [shown] and listed["pagination"]["total"] == 1
    assert key not in (await browser.get(url)).text + (await browser.get(f"{API}/deployments")).text
    async with transaction(resources.sessionmaker) as db:
        row = await db.get(Deployment, uuid.UUID(created["id"]))
    assert row is not None
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()  # the key itself is not kept


async def test_deploying_an_agent_pins_its_version_and_settings(browser: AsyncClient) -> None:
    agent = await make_agent(
        browser, instructions="Answer in French.", temperature=0.3, max_steps=4
    )
    created = await deploy(browser, "agent", agent["id"])
    assert created["target_version"] == "1"
    assert created["pinned"] == {
        "name": "Helper",
        "instructions": "Answer in French.",
        "model": None,
        "provider_id": None,
        "temperature": 0.3,
        "tool_ids": [],
        "max_steps": 4,
    }
    edited = await browser.put(f"{API}/agents/{agent['id']}", json={"instructions": "German."})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    again = (await browser.get(f"{API}/deployments/{created['id']}")).json()
    assert again["target_version"] == "1"
    assert again["pinned"]["instructions"] == "Answer in French."


async def test_the_target_must_be_an_agent_or_workflow_of_the_same_project(
    signed_in: SignedInFactory,
) -> None:
    alice, bob = await signed_in(), await signed_in()
    mine = await make_workflow(alice.browser)
    other_project = await new_project(alice.browser, "Elsewhere")
    elsewhere = await make_workflow(alice.browser, project_id=other_project)
    bobs = await make_workflow(bob.browser)
    for target_id in (elsewhere["id"], bobs["id"], str(uuid.uuid4())):
        response = await alice.browser.post(
            f"{API}/deployments",
            json={"name": "D", "target_type": "workflow", "target_id": target_id},
        )
        assert_missing_reference(response, "target_id", target_id)
    as_agent = await alice.browser.post(
        f"{API}/deployments", json={"name": "D", "target_type": "agent", "target_id": mine["id"]}
    )
    assert_missing_reference(as_agent, "target_id", mine["id"])
    workspace = await alice.browser.post(
        f"{API}/deployments",
        json={"name": "D", "target_type": "workspace", "target_id": str(uuid.uuid4())},
    )
    error = assert_error(workspace, 422, "VALIDATION_ERROR")
    assert "sync and deploy" in error["message"]
    assert error["details"]["fields"][0]["field"] == "target_type"
    assert (await alice.browser.get(f"{API}/deployments")).json()["data"] == []


async def test_update_changes_name_environment_and_config_but_not_the_pin(
    browser: AsyncClient,
) -> None:
    workflow = await make_workflow(browser)
    created = await deploy(browser, "workflow", workflow["id"])
    url = f"{API}/deployments/{created['id']}"
    updated = await browser.put(url, json={"name": "Live", "config": {"tier": 2}})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["name"], body["environment"], body["config"]) == (
        "Live",
        "production",
        {"tier": 2},
    )
    assert body["target_version"] == created["target_version"]
    for bad in ({}, {"name": None}, {"target_id": workflow["id"]}):
        assert_error(await browser.put(url, json=bad), 422, "VALIDATION_ERROR")
    assert (await browser.get(url)).json() == body


async def test_delete_removes_it_and_its_key(browser: AsyncClient, client: AsyncClient) -> None:
    workflow = await make_workflow(browser)
    created = await deploy(browser, "workflow", workflow["id"])
    url = f"{API}/deployments/{created['id']}"
    assert (await browser.delete(url)).status_code == 204
    assert_error(await browser.get(url), 404, "RESOURCE_NOT_FOUND")
    assert_error(await browser.delete(url), 404, "RESOURCE_NOT_FOUND")
    refused = await client.post(
        f"{url}/invoke", json={"inputs": {}}, headers={"X-API-Key": created["key"]}
    )
    assert_error(refused, 401, "UNAUTHORIZED")
    events = (await browser.get(f"{API}/projects/{workflow['project_id']}/events")).json()
    types = [e["type"] for e in events["data"]]
    assert "deployment.created" in types and "deployment.deleted" in types


async def test_lists_filter_by_project_and_target(browser: AsyncClient) -> None:
    workflow = await make_workflow(browser)
    agent = await make_agent(browser)
    other = await new_project(browser, "Other")
    elsewhere = await make_workflow(browser, project_id=other)
    by_workflow = await deploy(browser, "workflow", workflow["id"], name="W")
    by_agent = await deploy(browser, "agent", agent["id"], name="A")
    in_other = await deploy(browser, "workflow", elsewhere["id"], name="O", project_id=other)

    async def names(query: str) -> list[str]:
        response = await browser.get(f"{API}/deployments?{query}")
        assert response.status_code == 200, response.text
        return [d["name"] for d in response.json()["data"]]

    assert sorted(await names("")) == ["A", "O", "W"]
    assert sorted(await names(f"project_id={workflow['project_id']}")) == ["A", "W"]
    assert await names(f"project_id={other}") == [in_other["name"]]
    assert await names("target_type=agent") == [by_agent["name"]]
    assert await names(f"target_id={workflow['id']}") == [by_workflow["name"]]
    first = (await browser.get(f"{API}/deployments?limit=2")).json()
    assert len(first["data"]) == 2 and first["pagination"]["has_more"] is True
    rest = await browser.get(
        f"{API}/deployments?limit=2&cursor={first['pagination']['next_cursor']}"
    )
    assert len(rest.json()["data"]) == 1
    assert_error(
        await browser.get(f"{API}/deployments?project_id={uuid.uuid4()}"), 404, "RESOURCE_NOT_FOUND"
    )


async def test_viewers_read_but_only_editors_change(signed_in: SignedInFactory) -> None:
    owner, editor, viewer = await signed_in(), await signed_in(), await signed_in()
    project = await new_project(owner.browser, "Team")
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")
    workflow = await make_workflow(owner.browser, project_id=project)
    created = await deploy(editor.browser, "workflow", workflow["id"], project_id=project)
    assert created["created_by"] == editor.user["id"]
    url = f"{API}/deployments/{created['id']}"

    assert (await viewer.browser.get(url)).status_code == 200
    assert len((await viewer.api.get(f"{API}/deployments")).json()["data"]) == 1
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", url, {"name": "Mine"}),
        ("DELETE", url, None),
        ("POST", f"{url}/key", None),
        ("DELETE", f"{url}/key", None),
        ("POST", f"{url}/invoke", {"inputs": {}}),
        ("POST", f"{API}/ci/deployments/{created['id']}/redeploy", None),
        (
            "POST",
            f"{API}/deployments",
            {
                "name": "V",
                "target_type": "workflow",
                "target_id": workflow["id"],
                "project_id": project,
            },
        ),
    ]
    for verb, target, body in attempts:
        assert_error(await viewer.api.request(verb, target, json=body), 403, "FORBIDDEN")
    assert (await owner.browser.put(url, json={"name": "Owner's"})).status_code == 200
    assert (await editor.browser.delete(url)).status_code == 204


async def test_a_new_key_replaces_the_old_and_a_revoked_key_is_refused(
    browser: AsyncClient, client: AsyncClient
) -> None:
    workflow = await make_workflow(browser)
    created = await deploy(browser, "workflow", workflow["id"])
    url = f"{API}/deployments/{created['id']}"
    rotated = await browser.post(f"{url}/key")
    assert rotated.status_code == 200, rotated.text
    new_key = rotated.json()["key"]
    assert new_key != created["key"] and rotated.json()["key_prefix"] == new_key[:12]

    async def answer(key: str) -> int:
        response = await client.post(
            f"{url}/invoke", json={"inputs": {}}, headers={"X-API-Key": key}
        )
        return response.status_code

    assert await answer(created["key"]) == 401
    assert await answer(new_key) == 202
    assert (await browser.delete(f"{url}/key")).status_code == 204
    shown = (await browser.get(url)).json()
    assert shown["key_active"] is False and shown["key_revoked_at"] is not None
    assert await answer(new_key) == 401
    assert (await browser.delete(f"{url}/key")).status_code == 204  # revoking twice is fine
    member = await browser.post(f"{url}/invoke", json={"inputs": {}})
    assert member.status_code == 202, member.text  # members still invoke it
    again = (await browser.post(f"{url}/key")).json()
    assert again["key_active"] is True and again["key_revoked_at"] is None
    assert await answer(again["key"]) == 202


async def test_a_deployment_key_is_no_user_credential(
    browser: AsyncClient, client: AsyncClient
) -> None:
    workflow = await make_workflow(browser, leaf="only")
    created = await deploy(browser, "workflow", workflow["id"])
    keyed = {"X-API-Key": created["key"]}
    for verb, path in [
        ("GET", f"/deployments/{created['id']}"),
        ("GET", "/deployments"),
        ("POST", f"/deployments/{created['id']}/key"),
        ("GET", "/ci/whoami"),
        ("POST", f"/ci/deployments/{created['id']}/redeploy"),
        ("GET", f"/workflows/{workflow['id']}"),
    ]:
        response = await client.request(verb, f"{API}{path}", headers=keyed)
        error = assert_error(response, 401, "UNAUTHORIZED")
        assert "deployment key" in error["message"]


async def test_redeploy_pins_the_latest_version_from_ci_only(
    signed_in: SignedInFactory,
) -> None:
    user = await signed_in()
    workflow, created, edited = await deployed_then_edited(user.browser)
    url = f"{API}/ci/deployments/{created['id']}/redeploy"
    for other in (user.browser, user.cli):
        assert_error(await other.post(url), 401, "UNAUTHORIZED")
    redeployed = await user.api.post(url)
    assert redeployed.status_code == 200, redeployed.text
    body = redeployed.json()
    assert body["target_version"] == edited["content_hash"] != created["target_version"]
    assert body["pinned"] == {"version": 2}
    assert "key" not in body and body["key_prefix"] == created["key_prefix"]
    assert (await user.browser.get(f"{API}/deployments/{created['id']}")).json() == body

    await user.browser.delete(f"{API}/workflows/{workflow['id']}")
    gone = await user.api.post(url)
    assert_missing_reference(gone, "target_id", workflow["id"])
