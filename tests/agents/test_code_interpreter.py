"""Agents run code in sandboxes: the `code_interpreter` built-in and a custom `code` tool,
called by the model, each a `tool` span whose output the model reads."""

from __future__ import annotations

import json

from httpx import AsyncClient

from orbiter.core.settings import Settings
from tests.agents.util import make_agent, priced_provider, spans, start_run, wait_for_run
from tests.fakes.llm_servers import FakeLLM, turn
from tests.tools.sandboxed import code_sandbox_root, sandboxed
from tests.tools.util import create_tool

__all__ = ["code_sandbox_root", "sandboxed"]

DOUBLE = "def main(value):\n    return {'doubled': value * 2}\n"


async def test_an_agent_gets_the_values_its_code_computed(
    browser: AsyncClient, fake_llm: FakeLLM, sandboxed: Settings
) -> None:
    await priced_provider(browser, fake_llm)
    tool = await create_tool(
        browser,
        {
            "name": "double",
            "description": "Double a number",
            "type": "code",
            "input_schema": {"type": "object", "properties": {"value": {"type": "integer"}}},
            "config": {"code": DOUBLE},
        },
    )
    agent = await make_agent(browser, tool_ids=["code_interpreter", tool["id"]])
    code = "primes = [n for n in range(2, 60) if all(n % d for d in range(2, n))]\nsum(primes)"
    fake_llm.queue_turns(
        turn("", ("code_interpreter", {"code": code}), ("double", {"value": 21})),
        turn("The sum is 440 and double 21 is 42."),
    )
    run = await start_run(browser, agent["id"], "Sum the primes below 60, and double 21")
    done = await wait_for_run(browser, run["id"])
    assert done["status"] == "succeeded", done
    tools = {s["name"]: s for s in spans(done["trace"], "tool")}
    interpreter = tools["code_interpreter"]
    assert interpreter["status"] == "ok" and interpreter["input"] == {"code": code}
    assert interpreter["output"]["result"] == "440" and interpreter["output"]["error"] is None
    assert tools["double"]["output"] == {"doubled": 42}

    answered = fake_llm.completions()[1].messages
    results = sorted(m["content"] for m in answered if m["role"] == "tool")
    assert json.loads(results[0]) == {"doubled": 42}
    assert json.loads(results[1])["result"] == "440"
