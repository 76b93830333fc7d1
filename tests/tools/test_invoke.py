"""POST /tools/{id}/invoke: one call, validated, answered at once, and recorded as a finished
one-step run of kind `tool` with its span."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM
from tests.helpers import API, assert_error
from tests.tools.util import TOOLS, create_tool, http_tool


async def invoke(client: AsyncClient, tool_id: str, arguments: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{TOOLS}/{tool_id}/invoke", json={"input": arguments})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_built_in_answers_and_its_run_is_recorded(browser: AsyncClient) -> None:
    result = await invoke(browser, "calculator", {"expression": "sqrt(16) + 2 ** 3"})
    assert result["output"] == {"expression": "sqrt(16) + 2 ** 3", "result": 12.0}
    assert result["error"] is None and result["duration_ms"] >= 0
    run = (await browser.get(f"{API}/runs/{result['run_id']}")).json()
    assert run["kind"] == "tool" and run["status"] == "succeeded"
    assert run["input"] == {"tool": "calculator", "input": {"expression": "sqrt(16) + 2 ** 3"}}
    assert run["output"] == {"output": result["output"]}
    [span] = run["trace"]
    assert (span["type"], span["name"], span["status"]) == ("tool", "calculator", "ok")
    assert span["output"] == result["output"] and span["duration_ms"] is not None
    assert run["finished_at"] is not None and run["tokens_in"] == 0


async def test_input_is_validated_against_the_schema_before_any_run(browser: AsyncClient) -> None:
    response = await browser.post(f"{TOOLS}/calculator/invoke", json={"input": {"expr": "1"}})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    problems = {(f["field"], f["type"]): f["message"] for f in error["details"]["fields"]}
    assert problems[("input", "schema_required")] == "'expression' is a required property"
    assert "'expr' was unexpected" in problems[("input", "schema_additionalProperties")]
    assert (await browser.get(f"{API}/runs")).json()["data"] == []


@pytest.mark.parametrize(
    ("tool", "arguments", "words"),
    [
        ("calculator", {"expression": "1 / 0"}, "division by zero"),
        ("calculator", {"expression": "9 ** 9 ** 9"}, "too large"),
        ("calculator", {"expression": "().__class__"}, "Cannot evaluate"),
        ("current_time", {"timezone": "Mars/Olympus"}, "Unknown time zone"),
    ],
)
async def test_a_failing_tool_answers_its_error_and_fails_its_run(
    browser: AsyncClient, tool: str, arguments: dict[str, Any], words: str
) -> None:
    result = await invoke(browser, tool, arguments)
    assert result["output"] is None and words in result["error"], result
    run = (await browser.get(f"{API}/runs/{result['run_id']}")).json()
    assert run["status"] == "failed" and run["error"]["code"] == "BAD_REQUEST"
    assert run["trace"][0]["status"] == "error" and words in run["trace"][0]["error"]


async def test_current_time_knows_iana_zones(browser: AsyncClient) -> None:
    result = await invoke(browser, "current_time", {"timezone": "Asia/Kolkata"})
    assert result["output"]["utc_offset"] == "+05:30"
    assert result["output"]["timezone"] == "Asia/Kolkata"


async def test_a_custom_http_tool_sends_its_headers_and_fills_its_url(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    tool = await create_tool(browser, http_tool(fake_llm))
    result = await invoke(browser, tool["id"], {"limit": 2})
    assert result["error"] is None, result
    output = result["output"]
    assert output["status"] == 200 and output["ok"] is True
    assert output["json"]["object"] == "list" and output["truncated"] is False
    [sent] = [r for r in fake_llm.requests if r.path == "/v1/models"]
    assert sent.headers["authorization"] == "Bearer sk-tool-secret-9876"
    assert sent.headers["accept"] == "application/json"
    run = (await browser.get(f"{API}/runs/{result['run_id']}")).json()
    assert run["target_id"] == tool["id"] and run["project_id"] == tool["project_id"]
    assert "sk-tool-secret" not in str(run)


async def test_a_body_template_puts_input_values_in_the_json_it_posts(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    config = {
        "method": "POST",
        "url": fake_llm.openai_url + "/chat/completions",
        "body_template": {
            "model": "echo",
            "messages": [{"role": "user", "content": "Say: {{text}}"}],
            "metadata": "{{text}}",
        },
    }
    tool = await create_tool(
        browser, http_tool(fake_llm, name="complete", input_schema=schema, config=config)
    )
    result = await invoke(browser, tool["id"], {"text": "hello"})
    assert result["error"] is None, result
    [sent] = fake_llm.completions()
    assert sent.json["messages"] == [{"role": "user", "content": "Say: hello"}]
    assert sent.json["metadata"] == "hello"
    reply = result["output"]["json"]["choices"][0]["message"]["content"]
    assert reply == "Echo: Say: hello"


async def test_http_requests_go_through_the_ssrf_guard(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "allow_private_urls", False)
    for url in ("http://127.0.0.1:9/", "http://169.254.169.254/latest/meta-data", "file:///etc"):
        result = await invoke(browser, "http_request", {"url": url})
        assert result["output"] is None and result["error"], result
        assert "Refused" in result["error"] or "http" in result["error"], result


async def test_ask_user_runs_only_inside_an_agent_run(browser: AsyncClient) -> None:
    body = {"input": {"questions": [{"question": "Which one?"}]}}
    response = await browser.post(f"{TOOLS}/ask_user/invoke", json=body)
    assert_error(response, 400, "BAD_REQUEST")
    assert_error(await browser.post(f"{TOOLS}/nope/invoke", json={}), 404, "RESOURCE_NOT_FOUND")
