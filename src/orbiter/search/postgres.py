"""Search on PostgreSQL: the generated `tsvector` of `search_documents` (GIN index), matched
with `plainto_tsquery` (the user's text is never query syntax) and ranked with `ts_rank_cd`
(title weight A = 1.0, body weight D = 0.1, so a word in the title counts ten mentions)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Float, Text, bindparam, case, func, literal, literal_column

from orbiter.models.search import search_documents
from orbiter.search.queries import MARK_END, MARK_START, SNIPPET_WORDS, Ranked, SnippetOf

ENGLISH: ColumnElement[str] = literal_column("'english'::regconfig")
HEADLINE = (
    f'StartSel="{MARK_START}", StopSel="{MARK_END}", MaxWords={SNIPPET_WORDS}, '
    f'MinWords={SNIPPET_WORDS // 2}, MaxFragments=2, FragmentDelimiter=" … "'
)
D = search_documents.c


def words(q: str) -> str:
    """What binds to `q`: the text itself, which `plainto_tsquery` parses as plain words."""
    return q


def _query() -> ColumnElement[str]:
    return func.plainto_tsquery(ENGLISH, bindparam("q", type_=Text))


def ranked() -> Ranked:
    return Ranked(
        source=search_documents,
        matches=D.tsv.op("@@")(_query()),
        score=func.ts_rank_cd(D.tsv, _query(), type_=Float),
    )


def snippet() -> SnippetOf:
    """The body's headline when the body matches (its D-weighted lexemes), else the title's."""
    query = _query()
    body_matches = func.ts_filter(D.tsv, literal_column("'{d}'")).op("@@")(query)
    text = case((body_matches, D.body), else_=D.title)
    headline = func.ts_headline(ENGLISH, text, query, literal(HEADLINE, Text))
    return SnippetOf(source=search_documents, key=D.id, matches=None, snippet=headline)
