"""Invoking a deployment: the pinned version runs, by the caller's credentials or the
deployment's own key, and `wait=true` answers with the finished run (bounded)."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.agents.util import make_agent, priced_provider, wait_for_run
from tests.deployments.util import deploy, deployed_then_edited, invoke, make_workflow
from tests.fakes.llm_servers import FakeLLM
from tests.helpers import API, SignedInFactory, add_member, assert_error, new_project
from tests.workflows.util import canvas, edge, node


async def test_the_key_runs_the_pinned_agent_settings_after_the_agent_changed(
    signed_in: SignedInFactory, client: AsyncClient, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    await priced_provider(user.browser, fake_llm)
    agent = await make_agent(user.browser, instructions="You are the pinned helper.")
    created = await deploy(user.browser, "agent", agent["id"])
    edited = await user.browser.put(
        f"{API}/agents/{agent['id']}", json={"instructions": "You are the edited helper."}
    )
    assert edited.status_code == 200, edited.text
    fake_llm.queue_reply("Bonjour from the pin")

    response = await invoke(
        client, created["id"], created["key"], inputs={"input": "Hi"}, wait=True
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "succeeded", run
    assert run["output"]["text"] == "Bonjour from the pin"
    assert (run["kind"], run["target_id"], run["target_version"]) == ("agent", agent["id"], "1")
    assert run["user_id"] == user.user["id"]  # a key runs it as the deployment's creator
    assert run["input"] == {"input": "Hi", "deployment_id": created["id"]}  # settings not shown
    [completion] = fake_llm.completions()
    assert completion.messages[0] == {"role": "system", "content": "You are the pinned helper."}
    assert completion.messages[-1]["content"] == "Hi"

    shown = (await user.browser.get(f"{API}/deployments/{created['id']}")).json()
    assert shown["last_invoked_at"] is not None
    redeployed = await user.api.post(f"{API}/ci/deployments/{created['id']}/redeploy")
    assert redeployed.json()["target_version"] == "2"
    again = await invoke(client, created["id"], created["key"], inputs={"input": "Hi"}, wait=True)
    assert again.json()["target_version"] == "2"
    assert fake_llm.completions()[-1].messages[0]["content"] == "You are the edited helper."


async def test_an_agent_deployment_needs_a_message(browser: AsyncClient) -> None:
    agent = await make_agent(browser)
    created = await deploy(browser, "agent", agent["id"])
    for inputs in ({}, {"input": ""}, {"input": 3}, {"message": "Hi"}):
        response = await invoke(browser, created["id"], inputs=inputs)
        error = assert_error(response, 422, "VALIDATION_ERROR")
        assert error["details"]["fields"][0]["field"] == "inputs.input"


@pytest.mark.parametrize("method", ["key", "cookie", "api_key", "bearer"])
async def test_the_pinned_workflow_version_runs_until_a_redeploy(
    signed_in: SignedInFactory, client: AsyncClient, method: str
) -> None:
    user = await signed_in()
    workflow, created, edited = await deployed_then_edited(user.browser)
    caller, key = (client, created["key"]) if method == "key" else (user.clients()[method], None)

    response = await invoke(caller, created["id"], key, inputs={"n": 5}, wait=True)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "succeeded", run
    assert run["output"] == {"first": {"start": {"n": 5}}}
    assert run["target_version"] == workflow["content_hash"]
    assert run["input"] == {
        "inputs": {"n": 5},
        "trigger": "deployment",
        "deployment_id": created["id"],
    }

    await user.api.post(f"{API}/ci/deployments/{created['id']}/redeploy")
    after = (await invoke(caller, created["id"], key, inputs={"n": 6}, wait=True)).json()
    assert after["output"] == {"second": {"start": {"n": 6}}}
    assert after["target_version"] == edited["content_hash"]


async def test_without_wait_the_answer_is_202_with_the_queued_run(
    browser: AsyncClient, client: AsyncClient
) -> None:
    workflow = await make_workflow(browser)
    created = await deploy(browser, "workflow", workflow["id"])
    response = await invoke(client, created["id"], created["key"], inputs={"n": 1})
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["status"] in {"queued", "running", "succeeded"}
    assert run["kind"] == "workflow" and run["target_id"] == workflow["id"]
    done = await wait_for_run(browser, run["id"])
    assert done["status"] == "succeeded" and done["output"] == {"first": {"start": {"n": 1}}}


async def test_wait_gives_up_after_the_configured_seconds(
    browser: AsyncClient,
    client: AsyncClient,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = await priced_provider(browser, fake_llm)
    agent = await make_agent(browser, provider_id=provider["id"], model="slow")
    created = await deploy(browser, "agent", agent["id"])
    fake_llm.set_delays(before=3)
    monkeypatch.setattr(resources.settings, "run_wait_seconds", 0.5)
    response = await invoke(
        client, created["id"], created["key"], inputs={"input": "Hi"}, wait=True
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] in {"queued", "running"}
    done = await wait_for_run(browser, response.json()["id"])
    assert done["status"] == "succeeded", done


async def test_wait_returns_a_run_paused_at_an_approval_gate_as_202(
    browser: AsyncClient, client: AsyncClient
) -> None:
    gated = canvas(
        node("start", "manual"),
        node("gate", "approval_gate", message="Ship it?"),
        edges=[edge("start", "gate")],
    )
    workflow = await make_workflow(browser, canvas=gated)
    created = await deploy(browser, "workflow", workflow["id"])
    response = await invoke(client, created["id"], created["key"], inputs={"n": 1}, wait=True)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "awaiting_approval"


async def test_a_key_is_good_for_its_own_deployment_only(
    browser: AsyncClient, client: AsyncClient
) -> None:
    workflow = await make_workflow(browser)
    first = await deploy(browser, "workflow", workflow["id"], name="A")
    second = await deploy(browser, "workflow", workflow["id"], name="B")
    refused = await invoke(client, second["id"], first["key"], inputs={})
    error = assert_error(refused, 401, "UNAUTHORIZED")
    assert error["message"] == "Invalid or revoked deployment key"
    for made_up in ("odk_" + "x" * 43, first["key"] + "x", first["key"][:-1]):
        assert_error(await invoke(client, first["id"], made_up, inputs={}), 401, "UNAUTHORIZED")
    assert_error(
        await client.post(f"{API}/deployments/{first['id']}/invoke", json={}), 401, "UNAUTHORIZED"
    )
    assert (await invoke(client, first["id"], first["key"], inputs={})).status_code == 202
    runs = (await browser.get(f"{API}/runs")).json()["data"]
    assert len(runs) == 1
    listed = {d["name"]: d for d in (await browser.get(f"{API}/deployments")).json()["data"]}
    assert listed["A"]["last_invoked_at"] is not None and listed["B"]["last_invoked_at"] is None


async def test_a_key_stops_when_its_creator_is_no_longer_an_editor(
    signed_in: SignedInFactory, client: AsyncClient
) -> None:
    owner, editor = await signed_in(), await signed_in()
    project = await new_project(owner.browser, "Team")
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    workflow = await make_workflow(owner.browser, project_id=project)
    created = await deploy(editor.browser, "workflow", workflow["id"], project_id=project)
    assert (await invoke(client, created["id"], created["key"], inputs={})).status_code == 202

    demoted = await owner.browser.patch(
        f"{API}/projects/{project}/members/{editor.user['id']}", json={"role": "viewer"}
    )
    assert demoted.status_code == 200, demoted.text
    refused = await invoke(client, created["id"], created["key"], inputs={})
    error = assert_error(refused, 403, "FORBIDDEN")
    assert "no longer an editor" in error["message"]
    removed = await owner.browser.delete(f"{API}/projects/{project}/members/{editor.user['id']}")
    assert removed.status_code == 204
    assert_error(await invoke(client, created["id"], created["key"], inputs={}), 403, "FORBIDDEN")
    mine = await invoke(owner.api, created["id"], inputs={}, wait=True)
    assert mine.status_code == 200 and mine.json()["user_id"] == owner.user["id"]


async def test_a_deleted_target_is_a_conflict(browser: AsyncClient, client: AsyncClient) -> None:
    workflow = await make_workflow(browser)
    agent = await make_agent(browser)
    by_workflow = await deploy(browser, "workflow", workflow["id"])
    by_agent = await deploy(browser, "agent", agent["id"])
    await browser.delete(f"{API}/workflows/{workflow['id']}")
    await browser.delete(f"{API}/agents/{agent['id']}")
    for created, inputs in ((by_workflow, {}), (by_agent, {"input": "Hi"})):
        response = await invoke(client, created["id"], created["key"], inputs=inputs)
        assert_error(response, 409, "CONFLICT")
    assert (await browser.get(f"{API}/runs")).json()["data"] == []


async def test_the_inputs_meet_the_pinned_trigger_schema(
    browser: AsyncClient, client: AsyncClient
) -> None:
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    strict = canvas(
        node("start", "manual", input_schema=schema),
        node("first", "aggregator"),
        edges=[edge("start", "first")],
    )
    workflow = await make_workflow(browser, canvas=strict)
    created = await deploy(browser, "workflow", workflow["id"])
    refused = await invoke(client, created["id"], created["key"], inputs={"n": "five"})
    assert_error(refused, 422, "VALIDATION_ERROR")
    shown = (await browser.get(f"{API}/deployments/{created['id']}")).json()
    assert shown["last_invoked_at"] is None  # nothing ran, nothing was stored


async def test_the_key_reads_back_the_runs_it_started_and_no_other(
    browser: AsyncClient, client: AsyncClient
) -> None:
    workflow = await make_workflow(browser)
    first = await deploy(browser, "workflow", workflow["id"], name="A")
    second = await deploy(browser, "workflow", workflow["id"], name="B")
    started = (await invoke(client, first["id"], first["key"], inputs={"n": 2})).json()
    assert started["input"]["deployment_id"] == first["id"]
    await wait_for_run(browser, started["id"])

    url = f"{API}/deployments/{first['id']}/runs/{started['id']}"
    read = await client.get(url, headers={"X-API-Key": first["key"]})
    assert read.status_code == 200, read.text
    assert read.json()["status"] == "succeeded"
    assert read.json()["output"] == {"first": {"start": {"n": 2}}}
    assert (await browser.get(url)).json()["id"] == started["id"]  # a member reads it too

    other = (await browser.post(f"{API}/workflows/{workflow['id']}/run", json={})).json()
    for deployment, run_id in ((first, other["id"]), (second, started["id"])):
        response = await client.get(
            f"{API}/deployments/{deployment['id']}/runs/{run_id}",
            headers={"X-API-Key": deployment["key"]},
        )
        assert_error(response, 404, "RESOURCE_NOT_FOUND")
    refused = await client.get(url, headers={"X-API-Key": second["key"]})
    assert_error(refused, 401, "UNAUTHORIZED")
    assert_error(await client.get(url), 401, "UNAUTHORIZED")
