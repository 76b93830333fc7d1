"""Search: the types a search covers and what one hit looks like."""

from __future__ import annotations

import uuid
from typing import Literal, get_args

from pydantic import BaseModel, Field

SearchType = Literal[
    "project",
    "agent",
    "workflow",
    "tool",
    "knowledge_base",
    "document",
    "conversation",
    "message",
    "task",
]
SEARCH_TYPES: tuple[str, ...] = get_args(SearchType)
MAX_QUERY_LENGTH = 256

SNIPPET_DESCRIPTION = (
    "A short extract around the best match, as HTML: the text is escaped (`<`, `>`, `&`, "
    "quotes) and every matched word is wrapped in `<mark>` and `</mark>`; `…` marks text left "
    "out. Safe to insert into a page as it is; strip the tags for plain text."
)
SCORE_DESCRIPTION = (
    "Relevance, higher first: PostgreSQL `ts_rank_cd`, SQLite `bm25` (negated). Only the order "
    "within one search means something; the numbers differ between backends."
)


class SearchHit(BaseModel):
    type: SearchType
    id: uuid.UUID = Field(description="The id of the project, agent, message, task... found")
    title: str | None = Field(
        description="Its name or title; a message's is its conversation's title (or null), a "
        "task's its prompt"
    )
    snippet: str = Field(description=SNIPPET_DESCRIPTION)
    project_id: uuid.UUID
    parent_id: uuid.UUID | None = Field(
        description="The conversation of a message; null for the other types"
    )
    score: float = Field(description=SCORE_DESCRIPTION)
