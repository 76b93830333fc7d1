"""The SQL that keeps `search_documents` current: one source table's triggers on each
backend, and the document's columns computed from a row. Migrations 0010 (the first sources),
0019 (knowledge bases and documents) and 0031 (tasks) build their statements from here
(`added` and `removed`: a source added to the index that exists); see 0010's docstring for
the design.

Every name put into these statements is a constant of this module, never input."""

# ruff: noqa: S608

from __future__ import annotations

from dataclasses import dataclass

# Longer texts are indexed (and searchable) up to this many characters: a tsvector is limited
# to 1 MB, and a snippet re-reads the text it comes from.
MAX_CHARS = 50_000


@dataclass(frozen=True)
class Source:
    type: str
    table: str
    title: str | None  # the column that is the title
    body: tuple[str, ...]  # the columns (or expressions over `{row}`) that make the body
    watched: tuple[str, ...]  # the columns whose change changes the document
    project: str = "{row}.project_id"  # the project's id, from the row `{row}`
    parent: str = "NULL"  # the parent row's id (a message's conversation)
    # The one user the row belongs to (a task's), into `search_documents.user_id` (migration
    # 0031): only that user finds it. None: the project's members find it.
    owner: str | None = None


FIRST_SOURCES = (
    Source("project", "projects", "name", ("description",), ("name", "description"), "{row}.id"),
    Source(
        "agent",
        "agents",
        "name",
        ("description", "instructions"),
        ("name", "description", "instructions", "project_id"),
    ),
    Source(
        "workflow", "workflows", "name", ("description",), ("name", "description", "project_id")
    ),
    Source("tool", "tools", "name", ("description",), ("name", "description", "project_id")),
    Source("conversation", "conversations", "title", (), ("title", "project_id")),
    Source(
        "message",
        "messages",
        None,
        ("content",),
        ("content", "conversation_id"),
        project="(SELECT c.project_id FROM conversations c WHERE c.id = {row}.conversation_id)",
        parent="{row}.conversation_id",
    ),
)
# Migration 0019: the knowledge domain's rows (a document's parent is its knowledge base).
KNOWLEDGE_SOURCES = (
    Source(
        "knowledge_base",
        "knowledge_bases",
        "name",
        ("description",),
        ("name", "description", "project_id"),
    ),
    Source(
        "document",
        "documents",
        "name",
        # PostgreSQL's parser reads `notes.md` as one file-name token: the name's words again,
        # without the dots, so that `notes` finds it.
        ("replace({row}.name, '.', ' ')", "text"),
        ("name", "text", "project_id"),
        parent="{row}.knowledge_base_id",
    ),
)


def words_of(column: str) -> str:
    """`{row}.column` with `/`, `.`, `:` and `@` as spaces: PostgreSQL's parser reads a URL or
    a path as a few tokens of its own, so that its words (`widget` of `.../acme/widget.git`)
    are found too."""
    text = f"{{row}}.{column}"
    for mark in "/.:@":
        text = f"replace({text}, '{mark}', ' ')"
    return text


# Migration 0031: a task, by its prompt (the title), repository URL and branch; its user's only.
TASK_SOURCES = (
    Source(
        "task",
        "tasks",
        "prompt",
        ("repo_url", words_of("repo_url"), "branch_name", words_of("branch_name")),
        ("prompt", "repo_url", "branch_name", "project_id", "user_id"),
        owner="{row}.user_id",
    ),
)
COLUMNS = "type, row_id, project_id, parent_id, title, body"
UPSERT = (
    "ON CONFLICT (type, row_id) DO UPDATE SET project_id = excluded.project_id, "
    "parent_id = excluded.parent_id, title = excluded.title, body = excluded.body"
)


def columns_of(source: Source) -> str:
    """The columns `values_of(source, ...)` fills: COLUMNS, and `user_id` for an owned row."""
    return COLUMNS if source.owner is None else f"{COLUMNS}, user_id"


def upsert_of(source: Source) -> str:
    return UPSERT if source.owner is None else f"{UPSERT}, user_id = excluded.user_id"


def _column(body: str, row: str) -> str:
    """A body part: a column of the row, or an expression over `{row}`."""
    return body.format(row=row) if "{row}" in body else f"{row}.{body}"


def values_of(source: Source, row: str, newline: str) -> str:
    """The document's columns (as in `columns_of(source)`) computed from the source row `row`."""
    title = f"coalesce({row}.{source.title}, '')" if source.title else "''"
    body = f" || {newline} || ".join(f"coalesce({_column(c, row)}, '')" for c in source.body)
    body = body or "''"
    values = [
        f"'{source.type}'",
        f"{row}.id",
        source.project.format(row=row),
        source.parent.format(row=row),
        f"substr({title}, 1, {MAX_CHARS})",
        f"substr({body}, 1, {MAX_CHARS})",
    ]
    if source.owner is not None:
        values.append(source.owner.format(row=row))
    return ", ".join(values)


def pg_trigger(source: Source) -> list[str]:
    function = f"search_index_{source.table}"
    watched = ", ".join(source.watched)
    return [
        f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM search_documents WHERE type = '{source.type}' AND row_id = OLD.id;
    ELSE
        INSERT INTO search_documents ({columns_of(source)})
        VALUES ({values_of(source, "NEW", "chr(10)")})
        {upsert_of(source)};
    END IF;
    RETURN NULL;
END
$$""",
        f"CREATE TRIGGER {function} AFTER INSERT OR DELETE OR UPDATE OF {watched} "
        f"ON {source.table} FOR EACH ROW EXECUTE FUNCTION {function}()",
    ]


def sqlite_triggers(source: Source) -> list[str]:
    name = f"search_index_{source.table}"
    values = values_of(source, "new", "char(10)")
    return [
        f"""CREATE TRIGGER {name}_insert AFTER INSERT ON {source.table} BEGIN
    INSERT INTO search_documents ({columns_of(source)}) VALUES ({values});
END""",
        f"""CREATE TRIGGER {name}_update AFTER UPDATE OF {", ".join(source.watched)}
ON {source.table} BEGIN
    INSERT INTO search_documents ({columns_of(source)}) VALUES ({values}) {upsert_of(source)};
END""",
        f"""CREATE TRIGGER {name}_delete AFTER DELETE ON {source.table} BEGIN
    DELETE FROM search_documents WHERE type = '{source.type}' AND row_id = old.id;
END""",
    ]


def added(source: Source, *, postgresql: bool) -> list[str]:
    """A source added to an index that exists: its rows that exist, then its triggers."""
    values = values_of(source, "t", "chr(10)" if postgresql else "char(10)")
    backfill = (
        f"INSERT INTO search_documents ({columns_of(source)}) SELECT {values} FROM {source.table} t"
    )
    return [backfill, *(pg_trigger(source) if postgresql else sqlite_triggers(source))]


def removed(source: Source, *, postgresql: bool) -> list[str]:
    """What `added` made, undone: the triggers, then the source's documents."""
    name = f"search_index_{source.table}"
    if postgresql:
        drops = [f"DROP TRIGGER {name} ON {source.table}", f"DROP FUNCTION {name}()"]
    else:
        drops = [f"DROP TRIGGER {name}_{event}" for event in ("insert", "update", "delete")]
    return [*drops, f"DELETE FROM search_documents WHERE type = '{source.type}'"]
