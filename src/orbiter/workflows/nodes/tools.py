"""Tool nodes: `function_tool` (any tool of the registry), `http_request` (through the
outbound guard), `code_python` (the sandbox), `knowledge_retrieval` (knowledge bases)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeType, register


class FunctionToolConfig(NodeConfig):
    tool: str = Field(
        min_length=1, max_length=100, description="A built-in tool's name or a custom tool's id"
    )
    input: dict[str, Any] = Field(default_factory=dict, description="The tool's input")


async def run_function_tool(call: NodeCall) -> Any:
    raise NotImplementedError


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
    raise NotImplementedError


class CodePythonConfig(NodeConfig):
    code: str = Field(min_length=1, max_length=100_000)


async def run_code_python(call: NodeCall) -> Any:
    raise NotImplementedError


class KnowledgeRetrievalConfig(NodeConfig):
    knowledge_base_id: uuid.UUID
    query: str = Field(default="{{ input }}", max_length=10_000)
    top_k: int = Field(default=5, ge=1, le=50)


async def run_knowledge_retrieval(call: NodeCall) -> Any:
    raise NotImplementedError


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
