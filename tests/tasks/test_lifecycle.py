"""Tasks: what is refused at create, cancel, delete (one and by status), and isolation."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.core import outbound
from tests.conversations.util import streaming_client
from tests.fakes.llm_servers import FakeLLM, provider_body, turn
from tests.helpers import API, SignedInFactory, assert_error, browser_for
from tests.sse import sse_events
from tests.tasks.conftest import start_task, wait_for
from tests.tasks.git_server import GitServer

ALWAYS_REFUSED = [
    "file:///etc",
    "ssh://git@github.com/octo/repo.git",
    "git://github.com/octo/repo.git",
    "git@github.com:octo/repo.git",
    "http://github.com/octo/repo.git",  # plain http to anything but loopback
    "https://someone:secret@github.com/octo/repo.git",
]


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
async def test_urls_other_than_https_are_refused_at_create(coder: AsyncClient, url: str) -> None:
    response = await coder.post(f"{API}/tasks", json={"prompt": "x", "repoUrl": url})
    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert body["details"]["fields"][0]["field"] == "repoUrl"
    assert (await coder.get(f"{API}/tasks")).json()["data"] == []


async def test_private_hosts_are_refused_unless_the_operator_allows_them(
    app: FastAPI, coder: AsyncClient, git_server: GitServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.resources.settings, "allow_private_urls", False)
    for url in (git_server.url("demo.git"), "https://10.1.2.3/a.git", "https://localhost/a.git"):
        response = await coder.post(f"{API}/tasks", json={"prompt": "x", "repoUrl": url})
        body = assert_error(response, 422, "VALIDATION_ERROR")
        assert body["details"]["fields"][0]["type"] == "url_refused", url
    assert (await coder.get(f"{API}/tasks")).json()["data"] == []


async def test_the_agent_and_model_are_the_callers_and_checked(
    app: FastAPI, coder: AsyncClient, fake_llm: FakeLLM, git_server: GitServer
) -> None:
    url = git_server.url("missing.git")
    unknown = await coder.post(
        f"{API}/tasks", json={"prompt": "x", "repoUrl": url, "selectedAgent": "nobody"}
    )
    assert (
        assert_error(unknown, 422, "VALIDATION_ERROR")["details"]["fields"][0]["field"]
        == "selectedAgent"
    )
    bad_model = await coder.post(
        f"{API}/tasks",
        json={
            "prompt": "x",
            "repoUrl": url,
            "selectedAgent": "fake-openai",
            "selectedModel": "gpt-9",
        },
    )
    assert_error(bad_model, 422, "VALIDATION_ERROR")
    chosen = await start_task(coder, url, "x", selectedAgent="fake-openai", selectedModel="echo")
    assert chosen["model"] == "echo" and chosen["selected_agent"] == "fake-openai"

    newcomer, _ = await browser_for(app)  # no provider yet
    try:
        response = await newcomer.post(f"{API}/tasks", json={"prompt": "x", "repoUrl": url})
        body = assert_error(response, 503, "SERVICE_UNAVAILABLE")
        assert body["details"]["how_to_fix"]["path"] == "/api/v1/providers"
    finally:
        await newcomer.aclose()


async def test_cancel_stops_a_long_command_within_seconds(
    app: FastAPI, coder: AsyncClient, fake_llm: FakeLLM, git_server: GitServer
) -> None:
    git_server.make_repo("slow.git", {"a.txt": "a\n"})
    fake_llm.queue_turns(turn("", ("run_command", {"command": "sleep 50; echo late > late.txt"})))
    task = await start_task(coder, git_server.url("slow.git"), "Wait a long time")
    running = "run_command: sleep 50; echo late > late.txt"
    # A follower of the logs sees the lines as they come, then the end.
    async with (
        streaming_client(app, coder) as client,
        client.stream("GET", f"{API}/tasks/{task['id']}/logs") as response,
    ):
        assert response.status_code == 200
        seen = []
        async for event in sse_events(response):
            seen.append(event)
            if event.data.get("message") == running:
                asked = time.monotonic()
                cancel = await coder.post(f"{API}/tasks/{task['id']}/cancel")
                assert cancel.status_code == 200, cancel.text
    assert (seen[-1].event, seen[-1].data) == ("end", {"status": "cancelled"})
    assert time.monotonic() - asked < 5
    done = await wait_for(coder, task["id"])
    assert done["status"] == "cancelled"
    run = (await coder.get(f"{API}/runs/{done['run_id']}")).json()
    assert run["status"] == "cancelled"
    sandbox_id = done["sandbox_url"].rsplit("/", 1)[1]
    listed = await coder.post(f"{API}/terminal", json={"sbxId": sandbox_id, "command": "ls"})
    assert listed.json()["stdout"] == "a.txt\n"  # the command never got to write late.txt
    again = await coder.post(f"{API}/tasks/{task['id']}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"


async def test_delete_one_task_and_ended_tasks_by_status(
    coder: AsyncClient, fake_llm: FakeLLM, git_server: GitServer
) -> None:
    git_server.make_repo("quiet.git", {"a.txt": "a\n"})
    fake_llm.queue_turns(turn("Nothing needs to change."))
    completed = await start_task(coder, git_server.url("quiet.git"), "Look only")
    done = await wait_for(coder, completed["id"])
    assert done["status"] == "completed" and done["branch_name"] is None, done["error"]
    assert done["logs"][-1]["message"] == "The agent changed no files: nothing to commit"
    failed = [await start_task(coder, git_server.url("missing.git"), "x") for _ in range(2)]
    for task in failed:
        assert (await wait_for(coder, task["id"]))["status"] == "failed"

    wrong = await coder.delete(f"{API}/tasks", params={"action": "completed,pending"})
    assert_error(wrong, 422, "VALIDATION_ERROR")
    deleted = await coder.delete(f"{API}/tasks", params={"action": "failed"})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"message": "Deleted 2 tasks", "deletedCount": 2}
    listed = (await coder.get(f"{API}/tasks")).json()
    assert [t["id"] for t in listed["data"]] == [completed["id"]]
    assert listed["pagination"]["total"] == 1

    one = await coder.delete(f"{API}/tasks/{completed['id']}")
    assert one.status_code == 200 and one.json() == {"message": "Task deleted"}
    assert_error(await coder.get(f"{API}/tasks/{completed['id']}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await coder.get(done["sandbox_url"].removeprefix("")), 404, "RESOURCE_NOT_FOUND")
    assert_error(await coder.get(f"{API}/runs/{done['run_id']}"), 404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_another_users_task_is_not_found(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    git_server: GitServer,
    coder: AsyncClient,
    method: str,
) -> None:
    task = await start_task(coder, git_server.url("missing.git"), "Mine")
    await wait_for(coder, task["id"])
    intruder = (await signed_in()).clients()[method]
    await intruder.post(f"{API}/providers", json=provider_body(fake_llm))
    base = f"{API}/tasks/{task['id']}"
    for verb, path in (
        ("GET", base),
        ("GET", f"{base}/logs"),
        ("POST", f"{base}/cancel"),
        ("DELETE", base),
    ):
        assert_error(await intruder.request(verb, path), 404, "RESOURCE_NOT_FOUND")
    assert (await intruder.get(f"{API}/tasks")).json()["data"] == []
    swept = await intruder.delete(f"{API}/tasks", params={"action": "failed"})
    assert swept.json()["deletedCount"] == 0
    assert (await coder.get(base)).json()["status"] == "failed"


async def test_a_host_that_turns_private_after_create_is_refused_at_clone(
    app: FastAPI, coder: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS that answers nothing at create and a private address later (rebinding): the clone
    checks again and git never connects."""
    monkeypatch.setattr(app.state.resources.settings, "allow_private_urls", False)
    answers: list[list[str]] = []

    async def resolve(host: str, port: int) -> list[str]:
        if host != "rebind.example":
            return [host]
        if not answers:
            answers.append(["10.0.0.7"])
            raise OSError("no such host")
        return answers[0]

    monkeypatch.setattr(outbound, "resolve_host", resolve)
    task = await start_task(coder, "https://rebind.example/octo/repo.git", "x")
    done = await wait_for(coder, task["id"])
    assert done["status"] == "failed"
    assert done["error"] == (
        "Refused to clone https://rebind.example/octo/repo.git: Refused to connect: "
        "rebind.example resolves to 10.0.0.7, which is a private address; the server only "
        "connects to public addresses"
    )
