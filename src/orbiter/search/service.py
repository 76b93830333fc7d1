"""Search across the projects, agents, workflows, tools, knowledge bases, documents,
conversations and messages of the caller's projects, and the caller's own tasks: one ranked, keyset-paginated statement, then the page's snippets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbiter.core.db import read_only
from orbiter.core.errors import ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams
from orbiter.search import postgres, sqlite
from orbiter.search.highlight import render_snippet
from orbiter.search.queries import WORD, ranked_query, snippet_query
from orbiter.search.schemas import SEARCH_TYPES, SearchHit
from orbiter.tenancy.access import member_project_ids

DIALECTS: dict[str, ModuleType] = {"postgresql": postgres, "sqlite": sqlite}
NOTHING = PageInfo(next_cursor=None, has_more=False, total=0)


def wanted_types(values: Sequence[str] | None) -> list[str] | None:
    """The types named in `types` (repeated, or comma-separated); None: every type.
    An unknown name is a 422."""
    names = {n.strip() for value in values or () for n in value.split(",") if n.strip()}
    unknown = sorted(names - set(SEARCH_TYPES))
    if unknown:
        raise ValidationFailed.for_field(
            "types",
            f"Unknown type {unknown[0]!r}; one of: {', '.join(SEARCH_TYPES)}",
            type_="enum",
        )
    return sorted(names) if names else None


async def search(
    engine: AsyncEngine,
    *,
    user_id: uuid.UUID,
    q: str,
    types: Sequence[str] | None,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[SearchHit], PageInfo]:
    """Hits for every word of `q` (stemmed), best first; only rows of the caller's projects,
    and of the tasks only the caller's own."""
    wanted = wanted_types(types)
    if not WORD.search(q):
        return [], NOTHING
    dialect = DIALECTS[engine.dialect.name]
    visible = member_project_ids(user_id)
    query = ranked_query(dialect.ranked(), visible=visible, user_id=user_id, types=wanted)
    words = dialect.words(q)
    async with read_only(engine) as db:
        rows, info = await query.page(db, params, codec, {"q": words})
        extras = await _titles_and_snippets(db, dialect, words, [row.id for row in rows])
    # A row deleted between the two statements has no snippet: it is left out.
    return [_hit(row, extras) for row in rows if row.id in extras], info


async def _titles_and_snippets(
    db: AsyncConnection, dialect: ModuleType, words: str, ids: list[int]
) -> dict[int, tuple[str | None, str]]:
    if not ids:
        return {}
    result = await db.execute(snippet_query(dialect.snippet()), {"q": words, "ids": ids})
    return {doc_id: (title, render_snippet(snippet or "")) for doc_id, title, snippet in result}


def _hit(row: Any, extras: dict[int, tuple[str | None, str]]) -> SearchHit:
    title, snippet = extras[row.id]
    return SearchHit(
        type=row.type,
        id=row.row_id,
        title=title or None,
        snippet=snippet,
        project_id=row.project_id,
        parent_id=row.parent_id,
        score=row.score,
    )
