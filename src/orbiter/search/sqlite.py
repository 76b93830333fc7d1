"""Search on SQLite: the FTS5 table `search_fts` over `search_documents` (porter stemming),
matched with every word of the user's text quoted (so `"`, `*`, `:`, `(`, `-`, `NEAR`,
`AND`... are words, never FTS5 syntax; all words must match) and ranked with `bm25`
(title column weight 10, body 1)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Float, Text, bindparam, literal_column

from orbiter.models.search import search_documents, search_fts
from orbiter.search.queries import MARK_END, MARK_START, SNIPPET_WORDS, WORD, Ranked, SnippetOf

FTS: ColumnElement[str] = literal_column("search_fts")
SOURCE = search_fts.join(search_documents, search_documents.c.id == search_fts.c.rowid)


def words(q: str) -> str:
    """The FTS5 query for `q`: each word (letters and digits, what FTS5's unicode61 tokenizer
    keeps) as a quoted string, so no quote can be in one; side by side, all must match."""
    return " ".join(f'"{word}"' for word in WORD.findall(q))


def ranked() -> Ranked:
    return Ranked(
        source=SOURCE,
        matches=FTS.match(bindparam("q", type_=Text)),
        score=literal_column("-bm25(search_fts, 10.0, 1.0)", type_=Float),
    )


def snippet() -> SnippetOf:
    """FTS5 picks the column (title or body) with the best fragment. The ids are looked up as
    FTS5 rowids (`search_fts.rowid IN`), not read off every match."""
    text = f"snippet(search_fts, -1, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_WORDS})"
    return SnippetOf(
        source=SOURCE,
        key=search_fts.c.rowid,
        matches=FTS.match(bindparam("q", type_=Text)),
        snippet=literal_column(text, type_=Text),
    )
