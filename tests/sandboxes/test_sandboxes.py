"""POST /sandbox runs a fragment's code like a notebook cell; the caller lists, reads and
deletes their sandboxes; /terminal keeps its directory between commands; nobody else sees
them; the reaper removes expired ones and leftovers."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.core.time import utcnow
from orbiter.runtime.resources import Resources
from orbiter.sandboxes.host import SandboxHost
from orbiter.sandboxes.reaper import reap_sandboxes
from tests.helpers import assert_error, new_project, sign_in_everywhere
from tests.sandboxes.conftest import API, start, terminal
from tests.workspaces.util import new_workspace, set_current


async def test_a_cell_shows_its_last_expression_and_its_files(
    user: AsyncClient, host: SandboxHost
) -> None:
    code = "x = 6\nprint('working')\nx * 7"
    body = await start(user, code, file_path="notebook/cell.py")
    assert body["template"] == "code-interpreter-v1"
    assert body["stdout"] == "working\n" and body["stderr"] == ""
    assert body["cellResults"] == [{"text": "42", "is_main_result": True}]
    assert body["runtimeError"] is None and body["exitCode"] == 0 and body["limit"] is None
    assert body["files"] == [{"path": "notebook/cell.py", "size": len(code)}]
    assert (host.work_dir(uuid.UUID(body["sbxId"])) / "notebook/cell.py").read_text() == code

    rich = await start(user, "class T:\n    def _repr_html_(self): return '<b>t</b>'\nT()")
    [result] = rich["cellResults"]
    assert result["html"] == "<b>t</b>" and result["text"].startswith("<__main__.T object")
    quiet = await start(user, "value = 1")  # no last expression: nothing to show
    assert quiet["cellResults"] == [] and quiet["runtimeError"] is None


async def test_an_exception_is_the_runtime_error(user: AsyncClient) -> None:
    body = await start(user, "print('before')\ndef f():\n    return 1 / 0\nf()")
    assert body["stdout"] == "before\n" and body["cellResults"] == []
    error = body["runtimeError"]
    assert error["name"] == "ZeroDivisionError" and error["value"] == "division by zero"
    assert error["traceback"].startswith("Traceback (most recent call last):")
    assert 'File "<cell>", line 3, in f' in error["traceback"]
    assert "cell.py" not in error["traceback"]  # the runner's own frames are left out
    assert body["exitCode"] == 1

    syntax = (await start(user, "def broken(:"))["runtimeError"]
    assert syntax["name"] == "SyntaxError" and "<cell>" in syntax["traceback"]


async def test_node_and_bash_cells_where_the_host_has_them(
    user: AsyncClient, host: SandboxHost
) -> None:
    listed = await user.get(f"{API}/sandbox/templates")
    assert listed.status_code == 200, listed.text
    names = {t["name"] for t in listed.json()["data"]}
    assert "code-interpreter-v1" in names
    interpreters = {"code-interpreter-v1", "node-interpreter-v1", "bash-interpreter-v1"}
    assert names <= interpreters | {"python-web-v1", "node-web-v1"}
    if "node-interpreter-v1" in names:
        node = await start(
            user, "const a = [1, 2];\na.map((x) => x * 2)", template="node-interpreter-v1"
        )
        assert node["cellResults"] == [{"text": "[ 2, 4 ]", "is_main_result": True}]
        failed = await start(user, "null.x", template="node-interpreter-v1")
        assert failed["runtimeError"]["name"] == "TypeError"
        assert "cell.js" in failed["runtimeError"]["traceback"]
    if "bash-interpreter-v1" in names:
        bash = await start(user, "echo $((6 * 7)); exit 3", template="bash-interpreter-v1")
        assert bash["stdout"] == "42\n" and bash["exitCode"] == 3
        assert bash["runtimeError"]["name"] == "NonZeroExit"


async def test_refused_fragments(user: AsyncClient) -> None:
    unknown = await user.post(
        f"{API}/sandbox", json={"fragment": {"template": "nextjs-developer", "code": "x"}}
    )
    error = assert_error(unknown, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "fragment.template"
    assert "code-interpreter-v1" in error["message"]  # says what this host runs

    deps = await user.post(
        f"{API}/sandbox",
        json={
            "fragment": {
                "template": "code-interpreter-v1",
                "code": "import requests",
                "additional_dependencies": ["requests"],
                "has_additional_dependencies": True,
            }
        },
    )
    error = assert_error(deps, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["type"] == "network_disabled"
    escape = await user.post(
        f"{API}/sandbox",
        json={"fragment": {"template": "code-interpreter-v1", "code": "", "file_path": "../x"}},
    )
    assert_error(escape, 422, "VALIDATION_ERROR")
    assert (await user.get(f"{API}/sandbox")).json()["data"] == []  # none was left behind


async def test_list_get_delete(user: AsyncClient, host: SandboxHost) -> None:
    first = await start(user, "1")
    second = await start(user, "2")
    listed = await user.get(f"{API}/sandbox")
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert [s["id"] for s in page["data"]] == [second["sbxId"], first["sbxId"]]
    assert page["pagination"]["total"] == 2

    got = await user.get(f"{API}/sandbox/{first['sbxId']}")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["template"] == "code-interpreter-v1" and body["status"] == "running"
    assert body["cwd"] == "/home/user" and body["url"] is None
    expires = body["expires_at"]
    assert expires > body["created_at"]

    work_dir = host.work_dir(uuid.UUID(first["sbxId"]))
    assert work_dir.is_dir()
    deleted = await user.delete(f"{API}/sandbox/{first['sbxId']}")
    assert deleted.status_code == 204, deleted.text
    assert not work_dir.exists()
    assert_error(await user.get(f"{API}/sandbox/{first['sbxId']}"), 404, "RESOURCE_NOT_FOUND")
    assert [s["id"] for s in (await user.get(f"{API}/sandbox")).json()["data"]] == [second["sbxId"]]


async def test_too_many_live_sandboxes(
    user: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "sandbox_max_per_user", 1)
    await start(user, "1")
    refused = await user.post(
        f"{API}/sandbox", json={"fragment": {"template": "code-interpreter-v1", "code": "2"}}
    )
    assert_error(refused, 409, "CONFLICT")


async def test_terminal_keeps_its_directory(user: AsyncClient) -> None:
    sbx = (await start(user))["sbxId"]
    made = await terminal(user, sbx, "mkdir -p proj/src && cd proj/src && echo made")
    assert made == {
        "stdout": "made\n",
        "stderr": "",
        "exitCode": 0,
        "workingDirectory": "/home/user/proj/src",
        "limit": None,
    }
    here = await terminal(user, sbx, "pwd; touch file; ls")
    assert here["stdout"] == "/home/user/proj/src\nfile\n"
    up = await terminal(user, sbx, "cd .. && exit 4")
    assert up["exitCode"] == 4 and up["workingDirectory"] == "/home/user/proj"
    chosen = await terminal(user, sbx, "pwd", working_directory="proj/src")
    assert chosen["stdout"] == "/home/user/proj/src\n"
    got = (await user.get(f"{API}/sandbox/{sbx}")).json()
    assert got["cwd"] == "/home/user/proj/src"
    gone = await terminal(user, sbx, "pwd", working_directory="/nowhere")
    assert gone["stdout"] == "/home/user\n" and "no such directory" in gone["stderr"]


async def test_nobody_else_sees_a_sandbox(app: FastAPI, user: AsyncClient) -> None:
    sbx = (await start(user, "'mine'"))["sbxId"]
    other = await sign_in_everywhere(app)
    try:
        for client in other.clients().values():
            assert_error(await client.get(f"{API}/sandbox/{sbx}"), 404, "RESOURCE_NOT_FOUND")
            assert (await client.get(f"{API}/sandbox")).json()["data"] == []
            ran = await client.post(f"{API}/terminal", json={"command": "ls", "sbxId": sbx})
            assert_error(ran, 404, "RESOURCE_NOT_FOUND")
            deleted = await client.delete(f"{API}/sandbox/{sbx}")
            assert_error(deleted, 404, "RESOURCE_NOT_FOUND")
    finally:
        await other.aclose()
    assert (await user.get(f"{API}/sandbox/{sbx}")).status_code == 200


async def test_the_reaper_removes_expired_sandboxes_and_leftovers(
    user: AsyncClient, host: SandboxHost, resources: Resources
) -> None:
    sbx = (await start(user, "open('data', 'w').write('x')"))["sbxId"]
    work_dir = host.work_dir(uuid.UUID(sbx))
    orphan = host.work_dir(uuid.uuid4())  # a process killed between its files and its row
    orphan.mkdir()
    now = utcnow()
    await reap_sandboxes(host, resources.sessionmaker, now=now)
    assert work_dir.is_dir() and orphan.is_dir()  # not expired; the orphan may be mid-create

    # past the free plan's expiry and the orphans' grace (twice the longest plan's command)
    later = now + timedelta(hours=1)
    assert await reap_sandboxes(host, resources.sessionmaker, now=later) >= 2
    assert not work_dir.exists() and not orphan.exists()
    assert_error(await user.get(f"{API}/sandbox/{sbx}"), 404, "RESOURCE_NOT_FOUND")
    kept = {".probe", ".scripts", ".sockets", ".locks"}
    assert host.root.is_dir() and set(os.listdir(host.root)) <= kept
    for own in (".sockets", ".locks"):  # web servers leave no socket, commands no lock file
        assert not (host.root / own).exists() or not os.listdir(host.root / own)


async def test_a_workspace_s_files_are_there_from_the_start(
    app: FastAPI, user: AsyncClient, host: SandboxHost
) -> None:
    project = await new_project(user)
    workspace = (await new_workspace(user, project, "laptop"))["id"]
    tree = {"src/main.py": b"print('from the workspace')\n", "README.md": b"hi\n"}
    await set_current(user, workspace, tree)
    code = "import runpy\nrunpy.run_path('src/main.py')\nopen('README.md').read()"
    fragment = {"template": "code-interpreter-v1", "code": code}
    started = await user.post(
        f"{API}/sandbox", json={"fragment": fragment, "workspace_id": workspace}
    )
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["stdout"] == "from the workspace\n"
    assert body["cellResults"][0]["text"] == "'hi\\n'"
    assert body["files"] == [
        {"path": "README.md", "size": 3},
        {"path": "src/main.py", "size": len(tree["src/main.py"])},
    ]
    changed = await terminal(user, body["sbxId"], "echo more >> README.md && cat README.md")
    assert changed["stdout"] == "hi\nmore\n"  # its own copy, writable

    dirs_before = set(host.root.iterdir())
    other = await sign_in_everywhere(app)
    try:
        refused = await other.api.post(
            f"{API}/sandbox", json={"fragment": fragment, "workspace_id": workspace}
        )
        assert_error(refused, 404, "RESOURCE_NOT_FOUND")
    finally:
        await other.aclose()
    assert set(host.root.iterdir()) == dirs_before  # the refused sandbox left nothing behind
