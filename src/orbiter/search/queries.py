"""The statements both backends share; `postgres.py` and `sqlite.py` fill in how a document
matches, how it scores and how its snippet is cut."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, bindparam, case, func, or_, select

from orbiter.core.pagination import KeysetQuery
from orbiter.models import Conversation
from orbiter.models.search import search_documents

# Around each matched word in the database's snippet: private-use characters, turned into
# <mark> tags once the rest of the text is escaped (`orbiter.search.highlight`).
MARK_START = "\ue000"
MARK_END = "\ue001"
SNIPPET_WORDS = 24
# A letter or digit: a query without one has no word to look for.
WORD = re.compile(r"[^\W_]+")
D = search_documents.c
CONVERSATIONS = Conversation.__table__.c


@dataclass(frozen=True)
class Ranked:
    source: FromClause
    matches: ColumnElement[Any]
    score: ColumnElement[float]


@dataclass(frozen=True)
class SnippetOf:
    source: FromClause
    key: ColumnElement[int]  # the document's id, where looking it up is cheapest
    matches: ColumnElement[Any] | None  # SQLite's snippet() needs the full-text match
    snippet: ColumnElement[str]


def ranked_query(
    ranked: Ranked, *, visible: Select[Any], user_id: uuid.UUID, types: list[str] | None
) -> KeysetQuery:
    """The documents matching `:q` in the `visible` projects, best first (then newest id);
    of a row owned by one user (a task), only that user's. The total counts the same
    documents without scoring them."""
    owned = or_(D.user_id.is_(None), D.user_id == user_id)
    where = [ranked.matches, D.project_id.in_(visible), owned]
    if types is not None:
        where.append(D.type.in_(types))
    score = ranked.score.label("score")
    columns = (D.id, D.type, D.row_id, D.project_id, D.parent_id, score)
    stmt = select(*columns).select_from(ranked.source).where(*where)
    count = select(func.count()).select_from(ranked.source).where(*where)
    return KeysetQuery(stmt, [score, D.id], count=count)


def snippet_query(snippet: SnippetOf) -> Select[tuple[Any, ...]]:
    """Title and snippet of the documents `:ids` (a message's title is its conversation's)."""
    conversation = (CONVERSATIONS.id == D.parent_id) & (D.type == "message")
    title = case((D.type == "message", CONVERSATIONS.title), else_=D.title)
    stmt = (
        select(D.id, title, snippet.snippet)
        .select_from(snippet.source.outerjoin(Conversation.__table__, conversation))
        .where(snippet.key.in_(bindparam("ids", expanding=True)))
    )
    return stmt if snippet.matches is None else stmt.where(snippet.matches)
