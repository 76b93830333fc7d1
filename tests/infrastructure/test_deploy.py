"""The deploy pipeline end to end with the `local` provider: a tiny app in a workspace is
built and started in a sandbox, answers on its loopback URL, is redeployed (the old one stops
answering and is `stopped`) and stopped through the pipeline's callback; a failing build is
`failed` with its output in the logs."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.helpers import API, assert_error
from tests.infrastructure.util import (
    INFRA,
    app_workspace,
    deployments,
    fetch,
    wait_for,
    wait_unreachable,
)

pytestmark = pytest.mark.usefixtures("deploys")


async def logs_of(client: AsyncClient, conversation_id: str, deployment_id: str) -> list[str]:
    response = await client.get(
        f"{API}/conversations/{conversation_id}/deployments/{deployment_id}/logs",
        params={"limit": 100},
    )
    assert response.status_code == 200, response.text
    return [f"{line['stream']}: {line['line']}" for line in response.json()["data"]]


async def test_deploy_answers_then_redeploys_stop_the_previous_and_the_callback_stops_it(
    browser: AsyncClient,
) -> None:
    ids = await app_workspace(browser)

    # 1. The project's deploy waits for the app to be live.
    first = await browser.post(f"{INFRA}/projects/{ids['project']}/deploy")
    assert first.status_code == 200, first.text
    one = first.json()
    assert one["success"] is True and one["status"] == "live" and one["error"] is None, one
    assert one["url"].startswith("http://127.0.0.1:")
    answer = await fetch(one["url"] + "/hello")
    assert (answer.status_code, answer.text) == (200, "built v1 /hello")

    # 2. Redeploying the workspace: the new one goes live, the old one stops answering.
    second = await browser.post(f"{API}/workspaces/{ids['workspace']}/deploy")
    assert second.status_code == 202, second.text
    assert second.json()["status"] == "queued"
    two = await wait_for(browser, ids["workspace"], second.json()["deployment_id"], "live")
    assert two["trigger"] == "workspace" and two["url"] != one["url"]
    await wait_unreachable(one["url"])
    old = await wait_for(browser, ids["workspace"], one["deployment_id"], "stopped")
    assert old["stopped_at"] is not None and old["trigger"] == "manual"
    assert (await fetch(two["url"])).text == "built v1 /"

    # 3. From a conversation in the workspace: listed there, with its logs.
    conversation = await browser.post(
        f"{API}/conversations",
        json={"project_id": ids["project"], "workspace_id": ids["workspace"]},
    )
    conversation_id = conversation.json()["id"]
    started = await browser.post(f"{API}/conversations/{conversation_id}/deploy")
    assert started.status_code == 201, started.text
    three = started.json()
    assert three["trigger"] == "conversation" and three["status"] == "queued"
    three = await wait_for(browser, ids["workspace"], three["id"], "live") | {
        "callback_token": three["callback_token"]
    }
    await wait_unreachable(two["url"])
    listed = await browser.get(f"{API}/conversations/{conversation_id}/deployments")
    assert [d["id"] for d in listed.json()["data"]] == [three["id"]]
    log = await logs_of(browser, conversation_id, three["id"])
    assert "system: $ echo compiling && echo built > built.txt" in log
    assert "build: compiling" in log and "system: $ python3 app.py" in log
    assert f"system: live at {three['url']}" in log

    # 4. The pipeline's callback stops it (with the deployment's own token).
    stopped = await browser.post(
        f"{INFRA}/deployments/{three['id']}/status",
        json={"status": "stopped"},
        headers={"X-Deployment-Token": three["callback_token"]},
    )
    assert stopped.status_code == 200, stopped.text
    assert stopped.json() == {"deployment_id": three["id"], "status": "stopped", "changed": True}
    await wait_unreachable(three["url"])
    statuses = {d["id"]: d["status"] for d in await deployments(browser, ids["workspace"])}
    assert statuses == {
        one["deployment_id"]: "stopped",
        two["id"]: "stopped",
        three["id"]: "stopped",
    }
    log = await logs_of(browser, conversation_id, three["id"])
    assert "app: app starting" in log  # the app's own output, kept when it stopped


async def test_a_failing_build_fails_the_deployment_with_its_output(browser: AsyncClient) -> None:
    ids = await app_workspace(browser)
    await browser.put(
        f"{INFRA}/workspaces/{ids['workspace']}/deployment-settings",
        json={"build_command": "echo compiling; echo 'syntax error' >&2; exit 3"},
    )
    result = await browser.post(f"{INFRA}/projects/{ids['project']}/deploy")
    assert result.status_code == 200, result.text
    body = result.json()
    assert (body["success"], body["status"], body["url"]) == (False, "failed", None)
    assert body["error"] == "the build failed (exit status 3)"
    conversation = await browser.post(
        f"{API}/conversations",
        json={"project_id": ids["project"], "workspace_id": ids["workspace"]},
    )
    # The conversation did not start it: its logs are not the conversation's to show.
    foreign = await browser.get(
        f"{API}/conversations/{conversation.json()['id']}/deployments/{body['deployment_id']}/logs"
    )
    assert_error(foreign, 404, "RESOURCE_NOT_FOUND")


async def test_an_app_that_never_answers_fails_with_its_output(browser: AsyncClient) -> None:
    ids = await app_workspace(browser)
    await browser.put(
        f"{INFRA}/workspaces/{ids['workspace']}/deployment-settings",
        json={"build_command": None, "start_command": "echo 'missing module' >&2; exit 1"},
    )
    conversation = await browser.post(
        f"{API}/conversations",
        json={"project_id": ids["project"], "workspace_id": ids["workspace"]},
    )
    conversation_id = conversation.json()["id"]
    started = await browser.post(f"{API}/conversations/{conversation_id}/deploy")
    failed = await wait_for(browser, ids["workspace"], started.json()["id"], "failed")
    assert failed["error"] == "the app exited (1) before listening on port 8000"
    assert failed["url"] is None and failed["completed_at"] is not None
    log = await logs_of(browser, conversation_id, failed["id"])
    assert "app: missing module" in log
    assert log[-1] == f"system: failed: {failed['error']}"
