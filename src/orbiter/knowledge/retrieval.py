"""Retrieval inside a run: the `knowledge_search` tool and the `knowledge_retrieval` workflow
node both call `retrieve`, which runs the same search as the API and records it as a
`retrieval` span of the run's trace (input: the query and knowledge bases; output: the
method and each hit's document, position and score), nested under the tool's or node's span.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from orbiter.core.db import transaction
from orbiter.knowledge.schemas import SearchResponse
from orbiter.knowledge.service import search_for_run
from orbiter.models import KnowledgeBase
from orbiter.runs.context import RunContext, current_span
from orbiter.runtime.resources import Resources

SHOWN_CHARS = 200  # of each hit's text in the span (the tool's output has it whole)


async def retrieve(
    resources: Resources,
    *,
    run: RunContext | None,
    user_id: uuid.UUID | None,
    project_id: uuid.UUID,
    kb_ids: Sequence[uuid.UUID] | None,
    query: str,
    top_k: int,
    name: str,
) -> SearchResponse:
    """Search the named knowledge bases of the project (None: all of them). `run`: the run to
    record the span in; None: the run of the span the caller is in, if any."""
    if run is None:
        handle = current_span()
        run = handle.context if handle is not None else None
    bases = [str(kb) for kb in kb_ids] if kb_ids is not None else None
    if run is None:
        return await _search(resources, user_id, project_id, kb_ids, query, top_k)
    async with run.span(
        "retrieval", name, input={"query": query, "top_k": top_k, "knowledge_base_ids": bases}
    ) as span:
        found = await _search(resources, user_id, project_id, kb_ids, query, top_k)
        span.output = span_output(found)
    return found


async def _search(
    resources: Resources,
    user_id: uuid.UUID | None,
    project_id: uuid.UUID,
    kb_ids: Sequence[uuid.UUID] | None,
    query: str,
    top_k: int,
) -> SearchResponse:
    async with transaction(resources.sessionmaker) as db:
        return await search_for_run(
            db,
            resources,
            user_id=user_id,
            project_id=project_id,
            kb_ids=kb_ids,
            query=query,
            top_k=top_k,
        )


async def knowledge_base_exists(
    resources: Resources, project_id: uuid.UUID, kb_id: uuid.UUID
) -> bool:
    async with transaction(resources.sessionmaker) as db:
        row = await db.get(KnowledgeBase, kb_id)
    return row is not None and row.project_id == project_id


def span_output(found: SearchResponse) -> dict[str, Any]:
    return {
        "method": found.method,
        "results": [
            {
                "document_id": str(hit.document_id),
                "document_name": hit.document_name,
                "position": hit.position,
                "score": hit.score,
                "text": hit.text[:SHOWN_CHARS],
            }
            for hit in found.results
        ],
    }


def hits(found: SearchResponse) -> dict[str, Any]:
    """What a tool or node returns: the method and the hits with their whole text."""
    return found.model_dump(mode="json")
