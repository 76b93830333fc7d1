"""/api/v1/search: full-text search across what the caller can see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.runtime.deps import PageParamsDep, ResourcesDep
from orbiter.search import service
from orbiter.search.schemas import MAX_QUERY_LENGTH, SEARCH_TYPES, SearchHit

router = APIRouter(prefix="/search", tags=["search"])

Q_DESCRIPTION = (
    "Words to find (all of them, stemmed: `deploying` finds `deploy`). Plain text: quotes, "
    "`*`, `:`, `-`, `(`, `AND`, `OR`, `NEAR` are not operators, just characters or words."
)
TYPES_DESCRIPTION = (
    f"Only these types, repeated or comma-separated: {', '.join(SEARCH_TYPES)}. "
    "Another name is 422. A document is found by its name and its extracted text (once "
    "indexed); its parent_id is its knowledge base. A task is found by its prompt (its title), "
    "repository URL and branch, by its own user only."
)


@router.get("", response_model=Page[SearchHit], summary="Search what you can see")
async def find(
    principal: CurrentPrincipal,
    resources: ResourcesDep,
    page: PageParamsDep,
    q: Annotated[
        str,
        Query(min_length=1, max_length=MAX_QUERY_LENGTH, pattern=r"\S", description=Q_DESCRIPTION),
    ],
    types: Annotated[list[str] | None, Query(description=TYPES_DESCRIPTION)] = None,
) -> Page[SearchHit]:
    """Projects, agents, workflows, tools, knowledge bases, documents, conversations and
    messages of the caller's projects, and the caller's own tasks, that contain every word of `q`, best match first: a word in a name or title weighs more
    than one in a description or text. Each hit has a highlighted snippet. Pages follow the
    ranking (the cursor holds the last score)."""
    data, info = await service.search(
        resources.engine,
        user_id=principal.user_id,
        q=q,
        types=types,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)
