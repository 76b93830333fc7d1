"""Code that tools run, in sandboxes: the `code_interpreter` built-in and custom tools of type
`code` (saved with their Python, checked at save, called with the input as keywords)."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from orbiter.core.settings import Settings
from tests.helpers import API, assert_error
from tests.tools.sandboxed import code_sandbox_root, sandboxed
from tests.tools.util import TOOLS, create_tool

__all__ = ["code_sandbox_root", "sandboxed"]

ADD = """
import math

def main(numbers, scale=1):
    print("adding", len(numbers))
    return {"sum": sum(numbers) * scale, "sqrt": math.sqrt(sum(numbers))}
"""
SCHEMA = {
    "type": "object",
    "properties": {
        "numbers": {"type": "array", "items": {"type": "number"}},
        "scale": {"type": "integer"},
    },
    "required": ["numbers"],
    "additionalProperties": False,
}


def code_tool(code: str = ADD, **config: Any) -> dict[str, Any]:
    return {
        "name": "add_numbers",
        "description": "Add numbers",
        "type": "code",
        "input_schema": SCHEMA,
        "config": {"code": code, **config},
    }


async def invoke(client: AsyncClient, tool_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{TOOLS}/{tool_id}/invoke", json={"input": arguments})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_code_tool_is_saved_and_returns_its_function_result(
    browser: AsyncClient, sandboxed: Settings
) -> None:
    tool = await create_tool(browser, code_tool())
    assert tool["type"] == "code"
    assert tool["config"] == {"code": ADD, "function": "main", "timeout_seconds": 30.0}
    result = await invoke(browser, tool["id"], {"numbers": [1, 2, 6], "scale": 2})
    assert result["error"] is None, result
    assert result["output"] == {"sum": 18, "sqrt": 3.0}
    run = (await browser.get(f"{API}/runs/{result['run_id']}")).json()
    [span] = run["trace"]
    assert (span["type"], span["name"], span["status"]) == ("tool", "add_numbers", "ok")
    assert span["input"] == {"numbers": [1, 2, 6], "scale": 2}

    wrong = await browser.post(f"{TOOLS}/{tool['id']}/invoke", json={"input": {"n": 1}})
    fields = {f["type"] for f in assert_error(wrong, 422, "VALIDATION_ERROR")["details"]["fields"]}
    assert "schema_required" in fields  # checked against input_schema before any sandbox

    changed = await browser.put(
        f"{TOOLS}/{tool['id']}", json={"config": {"code": "def run(numbers):\n    return 7\n"}}
    )
    assert_error(changed, 422, "VALIDATION_ERROR")  # `main` is gone
    changed = await browser.put(
        f"{TOOLS}/{tool['id']}",
        json={
            "config": {"code": "def run(numbers):\n    return len(numbers)\n", "function": "run"}
        },
    )
    assert changed.status_code == 200, changed.text
    assert (await invoke(browser, tool["id"], {"numbers": [5, 5]}))["output"] == 2


async def test_a_syntax_error_is_refused_at_save_naming_the_line(browser: AsyncClient) -> None:
    response = await browser.post(TOOLS, json=code_tool("def main(x):\n    return (x\n"))
    error = assert_error(response, 422, "VALIDATION_ERROR")
    [field] = error["details"]["fields"]
    assert (field["field"], field["type"]) == ("config.code", "syntax_error")
    assert field["message"].startswith("line 2: "), field
    assert (await browser.get(TOOLS, params={"limit": 100})).json()["pagination"]["total"] == 6


async def test_errors_limits_and_host_files_are_reported_never_a_500(
    browser: AsyncClient, sandboxed: Settings
) -> None:
    code = """
def main(what):
    if what == "raise":
        return 1 / 0
    if what == "loop":
        while True:
            pass
    if what == "shadow":
        return open("/etc/shadow").read()
    return {1, 2}
"""
    schema = {"type": "object", "properties": {"what": {"type": "string"}}}
    body = {**code_tool(code, timeout_seconds=1), "input_schema": schema}
    tool = await create_tool(browser, body)

    raised = await invoke(browser, tool["id"], {"what": "raise"})
    assert raised["output"] is None
    assert "add_numbers raised ZeroDivisionError: division by zero" in raised["error"]
    assert 'File "<code>", line 4, in main' in raised["error"], raised["error"]

    looped = await invoke(browser, tool["id"], {"what": "loop"})
    assert "wall-clock limit" in looped["error"] and "wall_clock" in looped["error"], looped
    assert 900 <= looped["duration_ms"] < 15_000
    run = (await browser.get(f"{API}/runs/{looped['run_id']}")).json()
    assert run["status"] == "failed" and run["trace"][0]["status"] == "error"

    shadow = await invoke(browser, tool["id"], {"what": "shadow"})
    assert "FileNotFoundError" in shadow["error"] and "root:" not in shadow["error"], shadow

    not_json = await invoke(browser, tool["id"], {"what": "set"})
    assert "TypeError: the result is not JSON" in not_json["error"], not_json


async def test_code_interpreter_shows_output_value_error_and_limit(
    browser: AsyncClient, sandboxed: Settings, monkeypatch: Any
) -> None:
    code = "import sys\nx = 6\nprint('working')\nprint('careful', file=sys.stderr)\nx * 7"
    result = await invoke(browser, "code_interpreter", {"code": code})
    assert result["output"] == {
        "stdout": "working\n",
        "stderr": "careful\n",
        "result": "42",
        "error": None,
        "limit": None,
    }
    failed = (await invoke(browser, "code_interpreter", {"code": "print(1)\n[][0]"}))["output"]
    assert failed["stdout"] == "1\n" and failed["result"] is None
    assert failed["error"]["name"] == "IndexError"
    assert "list index out of range" in failed["error"]["value"]
    assert "line 2" in failed["error"]["traceback"]

    monkeypatch.setattr(sandboxed, "sandbox_command_seconds", 1.0)
    stopped = await invoke(browser, "code_interpreter", {"code": "print('spin')\nwhile True: pass"})
    assert stopped["error"] is None  # the code's failure is the model's to read
    assert stopped["output"]["limit"] == "wall_clock", stopped
    assert stopped["output"]["error"]["name"] == "LimitExceeded"
    assert "wall-clock limit" in stopped["output"]["error"]["value"]


async def test_without_a_sandbox_code_fails_saying_so(
    browser: AsyncClient, sandboxed: Settings, monkeypatch: Any
) -> None:
    tool = await create_tool(browser, code_tool())
    monkeypatch.setattr(sandboxed, "sandbox_bwrap_path", "/nonexistent/bwrap")
    for tool_id, arguments in ((tool["id"], {"numbers": [1]}), ("code_interpreter", {"code": "1"})):
        result = await invoke(browser, tool_id, arguments)
        assert result["output"] is None
        assert "Sandboxes cannot run on this host" in result["error"], result
        assert "bubblewrap" in result["error"]
        run = (await browser.get(f"{API}/runs/{result['run_id']}")).json()
        assert run["error"]["code"] == "SERVICE_UNAVAILABLE", run["error"]
