"""The deploy pipeline end to end with the `local` provider: a tiny app in a workspace is
built and started in a sandbox, answers on its loopback URL, is redeployed (the old one stops
answering and is `stopped`) and stopped through the pipeline's callback; a failing build is
`failed` with its output in the logs."""

from __future__ import annotations

import asyncio
import time

import pytest
from httpx import AsyncClient

from tests.helpers import API, assert_error, new_project
from tests.infrastructure.util import (
    INFRA,
    app_workspace,
    deployments,
    fetch,
    wait_for,
    wait_unreachable,
)
from tests.workspaces.util import new_workspace, set_current

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
    # The app's own output is kept when it stops (written just after it is stopped).
    log = await logs_of(browser, conversation_id, three["id"])
    deadline = time.monotonic() + 10
    while "system: the app was stopped" not in log and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        log = await logs_of(browser, conversation_id, three["id"])
    assert "app: app starting" in log, log


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


# Detected from its files: a Procfile's web command, and a SQLite database named in
# .env.example, which the local provider provisions and the app counts its hits in.
COUNTER = b"""
import http.server, os, sqlite3
def hits(count):
    db = sqlite3.connect(os.environ["SQLITE_PATH"])
    with db:
        db.execute("create table if not exists hits (at text)")
        if count:
            db.execute("insert into hits values (datetime())")
    return db.execute("select count(*) from hits").fetchone()[0]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{hits(self.path == '/hit')} {os.environ['GREETING']} {os.environ['DATABASE_URL']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


async def test_a_detected_app_gets_a_provisioned_sqlite_database_that_outlives_redeploys(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser, "Counter")
    workspace = (await new_workspace(browser, project, "main"))["id"]
    files = {
        "app.py": COUNTER,
        "Procfile": b"web: python3 app.py\n",
        ".env.example": b"DATABASE_URL=sqlite:///local.db\nGREETING=hello\n",
    }
    await set_current(browser, workspace, files)
    env = await browser.post(
        f"{API}/projects/{project}/env-vars", json={"key": "GREETING", "value": "bonjour"}
    )
    assert env.status_code == 201, env.text
    first = (await browser.post(f"{INFRA}/projects/{project}/deploy")).json()
    assert first["status"] == "live", (first["error"], await deployments(browser, workspace))
    [made] = first["provisioned_resources"]
    assert (made["resource_type"], made["provider"], made["created"]) == ("sqlite", "local", True)
    assert first["resources"] == first["provisioned_resources"]
    path = f"sqlite:////home/user/.orbiter-data/{made['id']}.sqlite3"
    assert (await fetch(first["url"] + "/hit")).text == f"1 bonjour {path}"
    assert (await fetch(first["url"] + "/hit")).text.startswith("2 ")
    [row] = await deployments(browser, workspace)
    assert row["plan"]["source"] == "detected"
    assert row["plan"]["start_command"] == "python3 app.py"
    assert row["plan"]["requirements"][0]["type"] == "sqlite"
    # Redeployed: the same database, still holding what the first app wrote.
    second = (await browser.post(f"{INFRA}/projects/{project}/deploy")).json()
    assert second["status"] == "live" and second["provisioned_resources"] == []
    assert [r["id"] for r in second["resources"]] == [made["id"]]
    assert (await fetch(second["url"] + "/hit")).text.startswith("3 bonjour")
    await wait_unreachable(first["url"])
