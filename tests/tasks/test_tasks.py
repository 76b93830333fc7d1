"""Coding tasks end to end: clone over smart HTTP, the coding agent (scripted by the fake
LLM) writes a file and runs a command in the sandbox, the branch is committed, logs and
the trace record it."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.fakes.github import FakeGitHub
from tests.fakes.llm_servers import FakeLLM, turn
from tests.helpers import API
from tests.sse import parse_sse
from tests.tasks.conftest import TOKEN, start_task, store_push_credential, wait_for
from tests.tasks.git_server import GitServer


async def test_a_task_clones_lets_the_agent_work_and_pushes_a_branch(
    coder: AsyncClient, fake_llm: FakeLLM, git_server: GitServer, fake_github: FakeGitHub
) -> None:
    git_server.make_repo("demo.git", {"README.md": "# Demo\n"})
    await store_push_credential(coder, fake_github, git_server)
    pushes = len(git_server.pushes)
    fake_llm.queue_turns(
        turn(
            "",
            ("list_files", {}),
            ("read_file", {"path": "README.md"}),
            ("search_files", {"pattern": "De[m]o"}),
        ),
        turn("", ("write_file", {"path": "docs/hello.txt", "content": "Hello from the agent\n"})),
        turn("", ("run_command", {"command": "cat docs/hello.txt README.md && echo ok"})),
        turn("I added docs/hello.txt."),
    )
    task = await start_task(coder, git_server.url("demo.git"), "Add a hello file!")
    done = await wait_for(coder, task["id"])
    assert done["status"] == "completed", (done["error"], done["logs"])
    assert done["progress"] == 100 and done["error"] is None
    assert done["branch_name"] == f"orbiter/add-a-hello-file-{task['id'].replace('-', '')[:8]}"
    assert len(done["commit_sha"]) == 40 and done["pushed"] is True

    # The branch is in the remote with the agent's file, pushed with the stored token only.
    branch = done["branch_name"]
    assert git_server.branches("demo.git") == ["main", branch]
    assert git_server.branch_file("demo.git", branch, "docs/hello.txt") == "Hello from the agent\n"
    assert git_server.head("demo.git", branch) == done["commit_sha"]
    assert git_server.pushes[pushes:] and all(git_server.pushes[pushes:])
    assert done["sandbox_url"].startswith(f"{API}/sandbox/")
    messages = [line["message"] for line in done["logs"]]
    assert messages[0] == f"Cloning {git_server.url('demo.git')}"
    assert "write_file: docs/hello.txt" in messages
    assert "run_command: cat docs/hello.txt README.md && echo ok" in messages
    assert any(m.startswith(f"Committed {done['commit_sha'][:12]}") for m in messages)
    assert messages[-2:] == [f"Pushed {branch}", "Task completed"]
    assert not any(TOKEN in m for m in messages)
    assert [line["seq"] for line in done["logs"]] == list(range(1, len(messages) + 1))

    # The command ran in the sandbox, on the files the agent wrote: its output is the result
    # the model read, and each call is a tool span of the task's run.
    run = (await coder.get(f"{API}/runs/{done['run_id']}")).json()
    assert run["kind"] == "task" and run["status"] == "succeeded"
    tools = {s["name"]: s for s in _flat(run["trace"]) if s["type"] == "tool"}
    assert sorted(tools) == [
        "list_files",
        "read_file",
        "run_command",
        "search_files",
        "write_file",
    ]
    assert all(s["status"] == "ok" for s in tools.values())
    assert tools["list_files"]["output"] == {
        "entries": [{"path": "README.md", "type": "file", "size": 7}],
        "truncated": False,
    }
    assert tools["read_file"]["output"]["content"] == "# Demo\n"
    assert tools["search_files"]["output"] == {
        "matches": ["README.md:1:# Demo"],
        "truncated": False,
    }
    assert tools["write_file"]["output"] == {"path": "docs/hello.txt", "bytes": 21}
    assert tools["run_command"]["output"]["exit_code"] == 0
    assert tools["run_command"]["output"]["stdout"] == "Hello from the agent\n# Demo\nok\n"

    # The task's sandbox holds the commit; the user can look at it with /terminal.
    sandbox_id = done["sandbox_url"].rsplit("/", 1)[1]
    shown = await coder.post(
        f"{API}/terminal",
        json={"sbxId": sandbox_id, "command": "git log --format=%s -1 && git status --short"},
    )
    assert shown.status_code == 200, shown.text
    assert shown.json()["stdout"] == "Add a hello file!\n"

    # The logs stream replays every line, then says the task ended.
    logs = await coder.get(f"{API}/tasks/{task['id']}/logs")
    assert logs.status_code == 200 and logs.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(logs.text)
    assert [e.data["message"] for e in events[:-1]] == messages
    assert [e.id for e in events[:-1]] == [str(n) for n in range(1, len(messages) + 1)]
    assert (events[-1].event, events[-1].data) == ("end", {"status": "completed"})
    resumed = await coder.get(
        f"{API}/tasks/{task['id']}/logs", headers={"Last-Event-ID": str(len(messages) - 1)}
    )
    assert [e.data.get("message") for e in parse_sse(resumed.text)] == [messages[-1], None]
    # An empty Last-Event-ID is no position (replays it all); one that is not a seq is a 400.
    empty = await coder.get(f"{API}/tasks/{task['id']}/logs", headers={"Last-Event-ID": " "})
    assert len(parse_sse(empty.text)) == len(messages) + 1
    bad = await coder.get(f"{API}/tasks/{task['id']}/logs", headers={"Last-Event-ID": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "Last-Event-ID"


def _flat(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for span in spans:
        out.append(span)
        out += _flat(span.get("children") or [])
    return out


async def test_a_repository_that_cannot_be_cloned_fails_the_task_with_gits_message(
    coder: AsyncClient, git_server: GitServer
) -> None:
    task = await start_task(coder, git_server.url("missing.git"), "Anything")
    done = await wait_for(coder, task["id"])
    assert done["status"] == "failed", done
    assert done["error"].startswith(f"Could not clone {git_server.url('missing.git')}: ")
    assert "not found" in done["error"] and done["branch_name"] is None
    assert done["logs"][-1]["type"] == "error" and done["logs"][-1]["message"] == done["error"]
