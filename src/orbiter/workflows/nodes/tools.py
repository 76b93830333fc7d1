"""Tool nodes: `function_tool` (any tool of the registry), `http_request` (through the
outbound guard), `code_python` (the sandbox), `knowledge_retrieval` (knowledge bases).

`code_python` compiles at save, and runs its code in a fresh sandbox
(`orbiter.sandboxes.oneshot`) with `input` and `inputs` set; its output is `{result, stdout,
stderr}`, `result` being the variable `result` or else the last expression's value (JSON).
`knowledge_retrieval` searches one knowledge base of the workflow's project
(`orbiter.knowledge.retrieval`, a `retrieval` span under the node's) and outputs `{method,
query, results}`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

import httpx2
from pydantic import Field, field_validator

from orbiter.core.db import transaction
from orbiter.knowledge.retrieval import hits, knowledge_base_exists, retrieve
from orbiter.sandboxes.oneshot import SandboxUnavailable, run_script
from orbiter.tools.base import ToolContext, ToolFailed
from orbiter.tools.builtin.code_interpreter import shown
from orbiter.tools.execute import input_error, run_tool
from orbiter.tools.http_fetch import MAX_TIMEOUT_SECONDS, fetch
from orbiter.tools.registry import CONVERSATIONAL
from orbiter.tools.service import runnable_tool
from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeError, NodeType, register

SHOWN_BODY_CHARS = 300


class FunctionToolConfig(NodeConfig):
    tool: str = Field(
        min_length=1, max_length=100, description="A built-in tool's name or a custom tool's id"
    )
    input: dict[str, Any] = Field(default_factory=dict, description="The tool's input")


async def run_function_tool(call: NodeCall) -> Any:
    config: FunctionToolConfig = call.config
    ctx = call.ctx
    async with transaction(ctx.resources.sessionmaker) as db:
        tool = await runnable_tool(db, ctx.resources, tool=config.tool, project_id=ctx.project_id)
    if tool is None:
        raise NodeError(
            f"No tool {config.tool!r}: neither a built-in nor a custom tool of this project",
            "RESOURCE_NOT_FOUND",
        )
    if tool.name in CONVERSATIONAL:
        raise NodeError(f"{tool.name} asks the user of a conversation: it runs only in agents")
    problem = input_error(tool, config.input)
    if problem is not None:
        raise NodeError(problem, "VALIDATION_ERROR")
    context = ToolContext(ctx.resources, ctx.user_id, ctx.project_id, ctx.run_id)
    async with ctx.span("tool", tool.name, input=config.input) as span:
        result = await run_tool(tool, context, config.input)
        span.output = result.output
        if result.error is not None:
            raise NodeError(result.error, result.error_code)
    return result.output


class HttpRequestConfig(NodeConfig):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: str = Field(min_length=1, max_length=8000)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    accept_statuses: list[int] = Field(
        default_factory=list, description="Statuses besides 2xx that are not a failure"
    )


async def run_http_request(call: NodeCall) -> Any:
    """`{status, headers, body, truncated}`: a JSON body parsed, else its text."""
    config: HttpRequestConfig = call.config
    try:
        url = str(httpx2.URL(config.url).copy_merge_params(_query(config.query)))
        answer = await fetch(
            call.ctx.settings,
            method=config.method,
            url=url,
            headers=config.headers,
            body=_body(config.body),
            seconds=MAX_TIMEOUT_SECONDS,
            every_header=True,
        )
    except httpx2.InvalidURL as exc:
        raise NodeError(f"Invalid URL {config.url!r}: {exc}", "VALIDATION_ERROR") from exc
    except ToolFailed as exc:
        raise NodeError(exc.message, exc.code) from exc
    status = answer["status"]
    output = {
        "status": status,
        "headers": answer["headers"],
        "body": answer["json"] if "json" in answer else answer["body"],
        "truncated": answer["truncated"],
    }
    if not answer["ok"] and status not in config.accept_statuses:
        call.span.output = output
        shown = answer["body"][:SHOWN_BODY_CHARS]
        raise NodeError(f"{config.method} {url} answered {status}: {shown}", "UPSTREAM_ERROR")
    return output


def _query(query: dict[str, Any]) -> dict[str, Any]:
    """Lists repeat the parameter; objects go as JSON text."""
    return {
        name: json.dumps(value) if isinstance(value, dict) else value
        for name, value in query.items()
    }


def _body(body: Any) -> Any:
    """An object or a list is sent as JSON, anything else as text."""
    if body is None or isinstance(body, dict | list | str):
        return body
    return json.dumps(body)


class CodePythonConfig(NodeConfig):
    code: str = Field(min_length=1, max_length=100_000)

    @field_validator("code")
    @classmethod
    def _compiles(cls, code: str) -> str:
        try:
            compile(code, "<node>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            where = f"line {exc.lineno}: " if exc.lineno else ""
            raise ValueError(f"{where}{exc.msg}") from exc
        except (RecursionError, MemoryError) as exc:
            raise ValueError("the code is nested too deeply to compile") from exc
        return code


async def run_code_python(call: NodeCall) -> Any:
    config: CodePythonConfig = call.config
    names = {"input": call.input, "inputs": call.variables.get("inputs")}
    try:
        outcome = await run_script(call.ctx.settings, config.code, names)
    except SandboxUnavailable as exc:
        raise NodeError(exc.message, "SANDBOX_UNAVAILABLE") from exc
    output = {
        "result": outcome.report.get("result"),
        "stdout": shown(outcome.stdout),
        "stderr": shown(outcome.stderr),
    }
    error = outcome.error
    if error is not None:
        call.span.output = output
        if outcome.limit is not None:
            raise NodeError(f"The code was stopped: {error['value']}", "SANDBOX_LIMIT")
        raise NodeError(
            f"The code raised {error['name']}: {error['value']}\n{error['traceback'][-2000:]}",
            "CODE_ERROR",
        )
    return output


class KnowledgeRetrievalConfig(NodeConfig):
    knowledge_base_id: uuid.UUID
    query: str = Field(default="{{ input }}", max_length=10_000)
    top_k: int = Field(default=5, ge=1, le=50)


async def run_knowledge_retrieval(call: NodeCall) -> Any:
    config: KnowledgeRetrievalConfig = call.config
    ctx = call.ctx
    if not config.query.strip():
        raise NodeError("The query is empty", "VALIDATION_ERROR")
    if not await knowledge_base_exists(ctx.resources, ctx.project_id, config.knowledge_base_id):
        raise NodeError(
            "No knowledge base with that id in this workflow's project", "RESOURCE_NOT_FOUND"
        )
    found = await retrieve(
        ctx.resources,
        run=ctx,
        user_id=ctx.user_id,
        project_id=ctx.project_id,
        kb_ids=[config.knowledge_base_id],
        query=config.query,
        top_k=config.top_k,
        name="knowledge_retrieval",
    )
    return hits(found)


register(
    NodeType(
        "function_tool",
        "tool",
        "Call a tool of the registry with an input",
        FunctionToolConfig,
        run_function_tool,
    )
)
register(
    NodeType(
        "http_request",
        "tool",
        "An HTTP request through the outbound guard",
        HttpRequestConfig,
        run_http_request,
    )
)
register(
    NodeType(
        "code_python",
        "tool",
        "Run Python in the sandbox",
        CodePythonConfig,
        run_code_python,
        raw_fields=frozenset({"code"}),
    )
)
register(
    NodeType(
        "knowledge_retrieval",
        "knowledge",
        "Search a knowledge base",
        KnowledgeRetrievalConfig,
        run_knowledge_retrieval,
    )
)
