"""The nodes that reach outside the run: llm_call, prompt_template, agent_node, function_tool,
http_request, and code_python's save-time check (its runs: test_code_python.py;
knowledge_retrieval is tested in tests/knowledge/test_retrieval.py). Each
test runs a workflow over HTTP and checks the effect where it lands: the fake LLM server got
the rendered prompt, the loopback server got the request, the tool ran."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest
from httpx import AsyncClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from orbiter.runtime.resources import Resources
from tests.agents.util import cost, looping_agent, make_agent, priced_provider, spans
from tests.fakes.llm_servers import FakeLLM, LoopbackServer, turn
from tests.helpers import API, assert_error, new_project
from tests.tools.util import create_tool, http_tool
from tests.workflows.runs import node_spans, run_canvas
from tests.workflows.util import canvas, edge, node

pytestmark = pytest.mark.usefixtures("run_worker")


def flow(*nodes: dict[str, Any]) -> dict[str, Any]:
    """A manual trigger, then `nodes` one after the other."""
    ids = ["start", *(n["id"] for n in nodes)]
    return canvas(node("start", "manual"), *nodes, edges=[edge(a, b) for a, b in pairwise(ids)])


def succeeded(run: dict[str, Any]) -> dict[str, Any]:
    assert run["status"] == "succeeded", (run["error"], run["trace"])
    return run


# ------------------------------------------------------------------ a loopback HTTP server


@dataclass
class Echo:
    """What the loopback server received, and how often `/flaky` has answered."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    flaky_calls: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def echo_app(echo: Echo) -> Starlette:
    async def answer(request: Request) -> Response:
        raw = (await request.body()).decode()
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": raw,
        }
        echo.requests.append(seen)
        status = int(request.path_params.get("status", 200))
        if request.url.path.startswith("/flaky/"):
            echo.flaky_calls += 1
            status = 503 if echo.flaky_calls <= int(request.path_params["times"]) else 200
        if request.url.path.startswith("/text/"):
            return PlainTextResponse("plain words", status_code=status)
        body = {"got": json.loads(raw) if raw else None, "calls": echo.flaky_calls}
        return JSONResponse(body, status_code=status, headers={"X-Trace": "t-1"})

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            Route("/json/{status:int}", answer, methods=methods),
            Route("/text/{status:int}", answer, methods=methods),
            Route("/flaky/{times:int}", answer, methods=methods),
        ]
    )


@pytest.fixture(scope="module")
def echo_server() -> Iterator[Echo]:
    echo = Echo()
    server = LoopbackServer(echo_app(echo))
    echo.port = server.port
    server.start()
    try:
        yield echo
    finally:
        server.stop()


@pytest.fixture
def echo(echo_server: Echo) -> Echo:
    echo_server.requests.clear()
    echo_server.flaky_calls = 0
    return echo_server


# ------------------------------------------------------------------ llm_call, prompt_template


async def test_a_prompt_template_feeds_an_llm_call_whose_tokens_are_counted(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    await priced_provider(browser, fake_llm)
    prompt = node(
        "prompt",
        "prompt_template",
        system="You answer {{ inputs.style }}.",
        template="Summarize {{ inputs.topic }} in {{ inputs.words }} words",
    )
    llm = node(
        "llm",
        "llm_call",
        messages="{{ prompt.output.messages }}",
        temperature=0.25,
        max_tokens=40,
    )
    run = succeeded(
        await run_canvas(browser, flow(prompt, llm), style="briefly", topic="rockets", words=5)
    )
    [sent] = fake_llm.completions()
    assert sent.json["messages"] == [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "Summarize rockets in 5 words"},
    ]
    assert sent.json["model"] == "echo"
    assert sent.json["temperature"] == 0.25 and sent.json["max_tokens"] == 40
    assert run["output"] == {"llm": "Echo: Summarize rockets in 5 words"}
    found = node_spans(run)
    assert found["prompt (prompt_template)"]["output"]["text"] == "Summarize rockets in 5 words"
    span = found["llm (llm_call)"]
    assert span["tokens_in"] > 0 and span["tokens_out"] > 0
    assert (span["model"], span["provider"]) == ("echo", "openai_compatible")
    assert span["cost"] == pytest.approx(cost(span["tokens_in"], span["tokens_out"]))
    assert (run["tokens_in"], run["tokens_out"]) == (span["tokens_in"], span["tokens_out"])


async def test_an_llm_call_with_a_json_format_outputs_the_parsed_answer(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    await priced_provider(browser, fake_llm)
    llm = node("llm", "llm_call", prompt="Rate {{ inputs.x }}", response_format="json")
    fake_llm.queue_reply('```json\n{"score": 3, "tags": ["ok"]}\n```')
    run = succeeded(await run_canvas(browser, flow(llm), x="this"))
    assert run["output"] == {"llm": {"score": 3, "tags": ["ok"]}}
    assert fake_llm.completions()[0].messages == [{"role": "user", "content": "Rate this"}]

    fake_llm.queue_reply("Sure! Score three.")
    failed = await run_canvas(browser, flow(llm), x="that")
    assert failed["status"] == "failed"
    assert "not JSON" in failed["error"]["message"], failed["error"]
    assert "Score three" in failed["error"]["message"]


async def test_a_failing_provider_is_retried_then_fails_the_run(
    browser: AsyncClient,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_retries", 0)  # one request per attempt
    await priced_provider(browser, fake_llm)
    llm = node("llm", "llm_call", prompt="Hi", model="error", retry_count=1, retry_delay_ms=0)
    run = await run_canvas(browser, flow(llm))
    assert run["status"] == "failed"
    assert run["error"]["code"] == "NODE_FAILED"
    assert "after 2 attempts" in run["error"]["message"]
    assert "answered 500" in run["error"]["message"]
    attempts = [s for name, s in node_spans(run).items() if name.startswith("llm ")]
    assert [s["status"] for s in attempts] == ["error", "error"]
    assert len(fake_llm.completions()) == 2


async def test_an_llm_call_without_a_provider_fails_saying_how_to_add_one(
    browser: AsyncClient,
) -> None:
    run = await run_canvas(browser, flow(node("llm", "llm_call", prompt="Hi")))
    assert run["status"] == "failed"
    assert "POST /api/v1/providers" in run["error"]["message"], run["error"]


# ------------------------------------------------------------------ agent_node


async def test_an_agent_node_runs_the_agent_and_its_tools_inside_the_run(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    await priced_provider(browser, fake_llm)
    agent = await make_agent(browser, instructions="You count.", tool_ids=["calculator"])
    fake_llm.queue_turns(
        turn("", ("calculator", {"expression": "6 * 7"})), turn("The answer is 42.")
    )
    solve = node("solve", "agent_node", agent_id=agent["id"], input="Work out {{ inputs.task }}")
    run = succeeded(await run_canvas(browser, flow(solve), task="six times seven"))
    assert run["output"] == {"solve": "The answer is 42."}
    first, second = fake_llm.completions()
    assert first.messages == [
        {"role": "system", "content": "You count."},
        {"role": "user", "content": "Work out six times seven"},
    ]
    assert any(m["role"] == "tool" and "42" in str(m["content"]) for m in second.messages)
    [node_span] = [s for s in run["trace"] if s["name"] == "solve (agent_node)"]
    assert [s["type"] for s in node_span["children"]] == ["step", "step"]
    [tool] = spans(node_span["children"], "tool")
    assert tool["name"] == "calculator" and tool["output"]["result"] == 42
    assert len(spans(node_span["children"], "llm")) == 2
    assert run["tokens_in"] == sum(s["tokens_in"] for s in spans(run["trace"], "llm"))


async def test_an_agent_node_stops_at_the_agents_max_steps(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    agent = await looping_agent(browser, fake_llm, max_steps=2)
    run = await run_canvas(browser, flow(node("loop", "agent_node", agent_id=agent["id"])))
    assert run["status"] == "failed"
    assert "limit of 2 steps" in run["error"]["message"], run["error"]
    assert len(fake_llm.completions()) == 2


async def test_an_agent_of_another_project_is_not_found(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    await priced_provider(browser, fake_llm)
    elsewhere = await make_agent(browser, project_id=await new_project(browser))
    run = await run_canvas(
        browser, flow(node("solve", "agent_node", agent_id=elsewhere["id"], input="Hi"))
    )
    assert run["status"] == "failed"
    assert "not found in the workflow's project" in run["error"]["message"], run["error"]
    assert fake_llm.completions() == []


# ------------------------------------------------------------------ function_tool


async def test_function_tools_run_a_built_in_and_a_custom_tool_of_the_project(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    custom = await create_tool(browser, http_tool(fake_llm))
    calc = node(
        "calc", "function_tool", tool="calculator", input={"expression": "{{ inputs.a }} * 2"}
    )
    models = node("models", "function_tool", tool=custom["id"], input={"limit": "{{ inputs.n }}"})
    run = succeeded(
        await run_canvas(
            browser,
            canvas(
                node("start", "manual"),
                calc,
                models,
                edges=[edge("start", "calc"), edge("start", "models")],
            ),
            a=21,
            n=2,
        )
    )
    assert run["output"]["calc"] == {"expression": "21 * 2", "result": 42}
    assert run["output"]["models"]["status"] == 200
    [sent] = [r for r in fake_llm.requests if r.path == "/v1/models"]
    assert sent.headers["authorization"] == "Bearer sk-tool-secret-9876"
    found = node_spans(run)
    [tool] = found["calc (function_tool)"]["children"]
    assert (tool["type"], tool["name"], tool["input"]) == (
        "tool",
        "calculator",
        {"expression": "21 * 2"},
    )
    assert "sk-tool-secret" not in json.dumps(run)


async def test_a_function_tool_input_is_checked_against_the_tools_schema(
    browser: AsyncClient,
) -> None:
    bad = node("calc", "function_tool", tool="calculator", input={"expr": "1"})
    run = await run_canvas(browser, flow(bad))
    assert run["status"] == "failed"
    message = run["error"]["message"]
    assert "input_schema" in message and "'expression' is a required property" in message
    assert "'expr' was unexpected" in message
    assert node_spans(run)["calc (function_tool)"]["children"] == []  # the tool never ran

    unknown = await run_canvas(browser, flow(node("x", "function_tool", tool="no_such_tool")))
    assert "No tool 'no_such_tool'" in unknown["error"]["message"]


# ------------------------------------------------------------------ http_request


async def test_an_http_request_sends_what_it_is_configured_with(
    browser: AsyncClient, echo: Echo
) -> None:
    fetch = node(
        "fetch",
        "http_request",
        method="POST",
        url=echo.url + "/json/201",
        headers={"X-Token": "{{ inputs.token }}"},
        query={"q": "{{ inputs.q }}", "tags": ["a", "b"]},
        body={"name": "{{ inputs.name }}", "n": 3},
    )
    run = succeeded(await run_canvas(browser, flow(fetch), token="t-42", q="find me", name="Ada"))
    [sent] = echo.requests
    assert (sent["method"], sent["path"]) == ("POST", "/json/201")
    assert sent["query"] == "q=find+me&tags=a&tags=b"
    assert sent["headers"]["x-token"] == "t-42"
    assert sent["headers"]["content-type"] == "application/json"
    assert json.loads(sent["body"]) == {"name": "Ada", "n": 3}
    output = run["output"]["fetch"]
    assert output["status"] == 201 and output["truncated"] is False
    assert output["body"] == {"got": {"name": "Ada", "n": 3}, "calls": 0}
    assert output["headers"]["x-trace"] == "t-1"


async def test_an_http_request_text_body_is_sent_and_answered_as_text(
    browser: AsyncClient, echo: Echo
) -> None:
    fetch = node("fetch", "http_request", method="PUT", url=echo.url + "/text/200", body="a b c")
    run = succeeded(await run_canvas(browser, flow(fetch)))
    assert echo.requests[0]["body"] == "a b c"
    assert "application/json" not in echo.requests[0]["headers"].get("content-type", "")
    assert run["output"]["fetch"]["body"] == "plain words"


async def test_a_non_2xx_answer_fails_the_node_so_retries_and_on_error_apply(
    browser: AsyncClient, echo: Echo
) -> None:
    flaky = node(
        "flaky", "http_request", url=echo.url + "/flaky/2", retry_count=2, retry_delay_ms=0
    )
    accepted = node("accepted", "http_request", url=echo.url + "/json/404", accept_statuses=[404])
    fallback = node(
        "fallback",
        "http_request",
        url=echo.url + "/json/500",
        on_error="fallback",
        fallback_value={"status": "unavailable"},
    )
    run = succeeded(
        await run_canvas(
            browser,
            canvas(
                node("start", "manual"),
                flaky,
                accepted,
                fallback,
                edges=[edge("start", n["id"]) for n in (flaky, accepted, fallback)],
            ),
        )
    )
    assert run["output"]["flaky"]["status"] == 200
    assert run["output"]["flaky"]["body"]["calls"] == 3
    assert run["output"]["accepted"]["status"] == 404
    assert run["output"]["fallback"] == {"status": "unavailable"}
    found = node_spans(run)
    tries = [
        found["flaky (http_request)"],
        *(found[f"flaky (http_request) attempt {n}"] for n in (2, 3)),
    ]
    assert [s["status"] for s in tries] == ["error", "error", "ok"]
    assert "answered 503" in tries[0]["error"]
    assert found["fallback (http_request)"]["status"] == "error"
    assert len([r for r in echo.requests if r["path"] == "/flaky/2"]) == 3


async def test_an_http_request_goes_through_the_outbound_guard(
    browser: AsyncClient, echo: Echo, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "allow_private_urls", False)
    run = await run_canvas(browser, flow(node("fetch", "http_request", url=echo.url + "/json/200")))
    assert run["status"] == "failed"
    assert "Refused" in run["error"]["message"], run["error"]
    assert echo.requests == []


# ------------------------------------------------------------------ code_python


async def test_code_python_that_does_not_compile_is_refused_at_save(
    browser: AsyncClient,
) -> None:
    broken = flow(node("code", "code_python", code="total = 1\nif total\n    total += 1\n"))
    response = await browser.post(f"{API}/workflows", json={"name": "Code", "canvas": broken})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    [problem] = error["details"]["fields"]
    assert problem["field"] == "canvas.nodes.1.data.code"
    assert "line 2" in problem["message"] and "expected ':'" in problem["message"], problem
