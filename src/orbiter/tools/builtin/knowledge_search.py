"""`knowledge_search`: the chunks of the project's knowledge bases that best answer a query
(full-text, fused with vectors when the run's user has an embedding model), recorded as a
`retrieval` span of the run. An agent with `knowledge_base_ids` is offered a copy bound to
those knowledge bases (`bound_to`); invoked on its own it searches the ones named in its
input, or every knowledge base of the project."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from orbiter.knowledge.retrieval import hits, retrieve
from orbiter.tools.base import RunnableTool, ToolContext, ToolFailed, ToolFunction

NAME = "knowledge_search"
DESCRIPTION = (
    "Search the knowledge bases (uploaded documents) for passages relevant to a query; "
    "returns the best chunks with their document name and score."
)
QUERY = {"type": "string", "minLength": 1, "maxLength": 2000, "description": "What to look for"}
TOP_K = {"type": "integer", "minimum": 1, "maximum": 20, "description": "How many chunks (5)"}
KB_IDS = {
    "type": "array",
    "items": {"type": "string", "format": "uuid"},
    "maxItems": 64,
    "description": "Knowledge bases of the project to search; default: all of them",
}


def _schema(with_bases: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {"query": QUERY, "top_k": TOP_K}
    if with_bases:
        properties["knowledge_base_ids"] = KB_IDS
    return {
        "type": "object",
        "properties": properties,
        "required": ["query"],
        "additionalProperties": False,
    }


async def _run(
    context: ToolContext, arguments: dict[str, Any], bases: Sequence[uuid.UUID] | None
) -> dict[str, Any]:
    if bases is None and arguments.get("knowledge_base_ids") is not None:
        try:
            bases = [uuid.UUID(str(kb)) for kb in arguments["knowledge_base_ids"]]
        except ValueError as exc:
            raise ToolFailed("knowledge_base_ids must be knowledge base ids (UUIDs)") from exc
    found = await retrieve(
        context.resources,
        run=None,
        user_id=context.user_id,
        project_id=context.project_id,
        kb_ids=bases,
        query=str(arguments["query"]),
        top_k=int(arguments.get("top_k") or 5),
        name=NAME,
    )
    return hits(found)


async def run(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    return await _run(context, arguments, None)


def bound_to(kb_ids: Sequence[uuid.UUID]) -> RunnableTool:
    """The tool an agent with these knowledge bases is offered: it searches them only."""
    bases = list(kb_ids)

    async def run_bound(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        return await _run(context, arguments, bases)

    return _tool(run_bound, with_bases=False)


def _tool(function: ToolFunction, *, with_bases: bool) -> RunnableTool:
    return RunnableTool(
        id=NAME,
        name=NAME,
        description=DESCRIPTION,
        input_schema=_schema(with_bases),
        run=function,
        builtin=True,
    )


KNOWLEDGE_SEARCH = _tool(run, with_bases=True)
