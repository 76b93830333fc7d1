"""One Alembic history: after `upgrade head` the schema matches the models exactly, and the
upgrade that turned data rules into constraints keeps (and mends) rows written before it."""

from __future__ import annotations

import struct
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from orbiter.core.db import create_engine
from orbiter.core.pagination import CursorCodec, PageParams
from orbiter.core.settings import Settings
from orbiter.models import Base
from orbiter.models.base import UTCDateTime
from orbiter.models.search import include_name
from orbiter.runtime.resources import Resources
from orbiter.search import service as search_service

ROOT = Path(__file__).resolve().parents[1]
SCRATCH_DATABASE = "orbiter_migration_scratch"


def _diff(connection: Connection) -> list[object]:
    opts = {"compare_type": True, "include_name": include_name}
    context = MigrationContext.configure(connection, opts=opts)
    return list(compare_metadata(context, Base.metadata))


async def test_autogenerate_finds_no_difference_after_upgrade(resources: Resources) -> None:
    async with resources.engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


def _declared_rules() -> tuple[dict[str, set[str]], dict[str, str]]:
    checks = {
        table.name: {str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        for table in Base.metadata.sorted_tables
    }
    partial = {}
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            where = index.dialect_options["postgresql"]["where"]
            if where is not None:
                partial[str(index.name)] = str(where)
    return checks, partial


def _database_rules(connection: Connection) -> tuple[dict[str, set[str]], dict[str, str]]:
    inspector = sa.inspect(connection)
    checks, partial = {}, {}
    for table in Base.metadata.sorted_tables:
        checks[table.name] = {str(c["name"]) for c in inspector.get_check_constraints(table.name)}
        for index in inspector.get_indexes(table.name):
            options = index.get("dialect_options", {})
            where = options.get("postgresql_where", options.get("sqlite_where"))
            if where is not None:
                partial[str(index["name"])] = str(where)
    return checks, partial


async def test_the_database_enforces_the_rules_the_models_declare(resources: Resources) -> None:
    """Autogenerate ignores CHECKs and partial-index conditions: compare those by hand."""
    declared_checks, declared_partial = _declared_rules()
    async with resources.engine.connect() as connection:
        checks, partial = await connection.run_sync(_database_rules)
    assert checks == declared_checks
    assert (
        set(partial)
        == set(declared_partial)
        == {
            "uq_workspaces_one_main",
            "uq_projects_one_personal",
            "uq_llm_providers_one_default",
            "ix_spans_usage",
            "ix_messages_usage",
        }
    )
    for name, where in partial.items():  # PostgreSQL words it its own way: "(is_main = true)"
        assert declared_partial[name] in where, (name, where)
    every_enum_like = {
        "users": {"ck_users_plan"},
        "project_members": {"ck_project_members_role"},
        "project_invitations": {"ck_project_invitations_role"},
        "messages": {"ck_messages_role", "ck_messages_status"},
        "device_authorizations": {"ck_device_authorizations_status"},
        "llm_providers": {"ck_llm_providers_type"},
        "stored_objects": {"ck_stored_objects_kind"},
        "object_owners": {"ck_object_owners_kind"},
        "drift_reports": {"ck_drift_reports_kind"},
        "runs": {"ck_runs_kind", "ck_runs_status"},
        "spans": {"ck_spans_type", "ck_spans_status"},
        "tools": {"ck_tools_type"},
        "deployments": {"ck_deployments_target_type"},
        "next_steps": {"ck_next_steps_status", "ck_next_steps_priority"},
        "atlas_concepts": {"ck_atlas_concepts_layer"},
        "atlas_edges": {"ck_atlas_edges_kind"},
        "atlas_diagrams": {"ck_atlas_diagrams_type"},
        "alert_rules": {
            "ck_alert_rules_condition_type",
            "ck_alert_rules_action_type",
            "ck_alert_rules_state",
        },
        "alert_events": {"ck_alert_events_kind", "ck_alert_events_delivery_status"},
        "alert_deliveries": {"ck_alert_deliveries_channel", "ck_alert_deliveries_status"},
        "waveforms": {"ck_waveforms_format"},
        "documents": {"ck_documents_file_type", "ck_documents_status"},
        "task_logs": {"ck_task_logs_type"},  # i15-tasks
        "app_deployments": {"ck_app_deployments_status", "ck_app_deployments_trigger"},
        "app_deployment_logs": {"ck_app_deployment_logs_stream"},
    }
    assert {table: names for table, names in checks.items() if names} == every_enum_like


# ------------------------------------------------------------ upgrading a database with data


@pytest.fixture
async def scratch(settings: Settings, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database of the backend under test, apart from the one the suite uses."""
    if settings.is_sqlite:
        url = f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        engine = create_engine(settings.model_copy(update={"database_url": url}))
        yield engine
        await engine.dispose()
        return
    admin = sa.make_url(settings.database_url)
    server = create_engine(settings).execution_options(isolation_level="AUTOCOMMIT")
    async with server.connect() as connection:
        await connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE}")
        await connection.exec_driver_sql(f"CREATE DATABASE {SCRATCH_DATABASE}")
    url = admin.set(database=SCRATCH_DATABASE).render_as_string(hide_password=False)
    engine = create_engine(settings.model_copy(update={"database_url": url}))
    try:
        yield engine
    finally:
        await engine.dispose()
        async with server.connect() as connection:
            await connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE}")
        await server.dispose()


def _alembic(connection: Connection, verb: str, revision: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["connection"] = connection
    getattr(command, verb)(config, revision)


async def _migrate(engine: AsyncEngine, verb: str, revision: str) -> None:
    async with engine.connect() as connection:
        await connection.run_sync(_alembic, verb, revision)
        await connection.commit()


_TYPES: dict[type, Any] = {
    uuid.UUID: sa.Uuid(),
    datetime: UTCDateTime(),
    bool: sa.Boolean(),
    int: sa.Integer(),
    list: sa.JSON(),
    dict: sa.JSON(),
    str: sa.String(),
}


async def _insert(connection: AsyncConnection, table_name: str, **values: Any) -> None:
    """A row written with raw SQL (not the models, which describe the newest schema)."""
    columns = (sa.column(name, _TYPES[type(value)]) for name, value in values.items())
    await connection.execute(sa.insert(sa.table(table_name, *columns)).values(**values))


def _day(n: int) -> datetime:
    return datetime(2026, 1, n, tzinfo=UTC)


async def _rows_before_the_rules(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    """Rows as a racing older version could leave them: two of each 'only one' flag."""
    ids = {name: uuid.uuid4() for name in ("user", "p1", "p2", "pr1", "pr2", "w1", "w2", "c", "m")}
    user = ids["user"]
    async with engine.begin() as db:
        await _insert(
            db,
            "users",
            id=user,
            email="old@example.com",
            plan="free",
            created_at=_day(1),
            updated_at=_day(1),
        )
        for n in (1, 2):
            project, when = ids[f"p{n}"], _day(n)
            await _insert(
                db,
                "projects",
                id=project,
                name="Personal",
                is_personal=True,
                created_by=user,
                created_at=when,
                updated_at=when,
            )
            await _insert(
                db,
                "project_members",
                project_id=project,
                user_id=user,
                role="owner",
                created_at=when,
            )
            await _insert(
                db,
                "llm_providers",
                id=ids[f"pr{n}"],
                user_id=user,
                name=f"p{n}",
                type="openai",
                models=[],
                is_default=True,
                created_at=when,
                updated_at=when,
            )
            await _insert(
                db,
                "workspaces",
                id=ids[f"w{n}"],
                project_id=ids["p1"],
                name=f"w{n}",
                is_main=True,
                version=0,
                created_at=when,
                updated_at=when,
            )
        await _insert(
            db,
            "conversations",
            id=ids["c"],
            project_id=ids["p1"],
            created_at=_day(1),
            updated_at=_day(1),
        )
        await _insert(
            db,
            "messages",
            id=ids["m"],
            conversation_id=ids["c"],
            role="assistant",
            content="partial",
            parts=[],
            status="streaming",
            created_at=_day(3),
        )
    return ids


async def _flags(engine: AsyncEngine, table: str, flag: str) -> dict[uuid.UUID, bool]:
    async with engine.connect() as db:
        rows = await db.execute(
            sa.select(sa.column("id", sa.Uuid()), sa.column(flag, sa.Boolean())).select_from(
                sa.table(table)
            )
        )
        return {row[0]: bool(row[1]) for row in rows}


async def test_upgrading_old_data_keeps_every_row_and_mends_broken_rules(
    scratch: AsyncEngine,
) -> None:
    await _migrate(scratch, "upgrade", "0003")
    ids = await _rows_before_the_rules(scratch)
    await _migrate(scratch, "upgrade", "head")

    # The oldest row keeps its flag; nothing was deleted (batch copies cascade nowhere).
    assert await _flags(scratch, "projects", "is_personal") == {ids["p1"]: True, ids["p2"]: False}
    assert await _flags(scratch, "llm_providers", "is_default") == {
        ids["pr1"]: True,
        ids["pr2"]: False,
    }
    assert await _flags(scratch, "workspaces", "is_main") == {ids["w1"]: True, ids["w2"]: False}
    async with scratch.connect() as connection:
        members = await connection.scalar(sa.text("SELECT count(*) FROM project_members"))
        message = (
            await connection.execute(
                sa.text("SELECT content, status, updated_at, created_at FROM messages")
            )
        ).one()
    assert members == 2
    assert message[0] == "partial" and message[1] == "streaming"
    assert message[2] == message[3]  # updated_at starts as created_at
    async with scratch.connect() as connection:
        assert await connection.run_sync(_diff) == []

    # And back down, and up again.
    await _migrate(scratch, "downgrade", "0003")
    await _migrate(scratch, "upgrade", "head")
    async with scratch.connect() as connection:
        assert await connection.run_sync(_diff) == []


# ------------------------------------------------------------------------- the search index

SEARCHED_TABLES = {
    "projects",
    "agents",
    "workflows",
    "tools",
    "conversations",
    "messages",
    "knowledge_bases",
    "documents",
    "tasks",
}


def _search_triggers(connection: Connection) -> set[tuple[str, str]]:
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgname LIKE 'search%'"
        )
    else:
        sql = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
    return {(str(table), str(name)) for table, name in connection.exec_driver_sql(sql)}


async def test_every_searched_table_has_its_search_triggers(resources: Resources) -> None:
    """On SQLite a batch migration that copies a table drops its triggers: one that forgets to
    make them again fails here."""
    async with resources.engine.connect() as connection:
        triggers = await connection.run_sync(_search_triggers)
    indexed = {table for table, name in triggers if name.startswith(f"search_index_{table}")}
    assert indexed == SEARCHED_TABLES
    expected = 1 if resources.engine.dialect.name == "postgresql" else 3  # insert, update, delete
    for table in SEARCHED_TABLES:
        assert len({n for t, n in triggers if t == table and "search_index" in n}) == expected


async def _searched(engine: AsyncEngine, user_id: uuid.UUID, q: str) -> set[tuple[str, uuid.UUID]]:
    hits, _ = await search_service.search(
        engine, user_id=user_id, q=q, types=None, params=PageParams(), codec=CursorCodec("k")
    )
    return {(hit.type, hit.id) for hit in hits}


async def _rows_to_backfill(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    """A project with its owner, a conversation and a message, all naming 'partial'."""
    ids = {name: uuid.uuid4() for name in ("user", "p", "c", "m")}
    day = _day(1)
    when = {"created_at": day, "updated_at": day}
    member = {"project_id": ids["p"], "user_id": ids["user"], "role": "owner", "created_at": day}
    project = {"name": "Plans", "description": "partial plans", "is_personal": False}
    message = {"role": "user", "content": "partial", "parts": [], "status": "complete"}
    rows = {  # in the order the foreign keys need
        "users": {"id": ids["user"], "email": "u@example.com", "plan": "free", **when},
        "projects": {"id": ids["p"], **project, **when},
        "project_members": member,
        "conversations": {"id": ids["c"], "project_id": ids["p"], "title": "Partial", **when},
        "messages": {"id": ids["m"], "conversation_id": ids["c"], **message, **when},
    }
    async with engine.begin() as db:
        for table, values in rows.items():
            await _insert(db, table, **values)
    return ids


async def test_the_search_index_is_backfilled_and_dropped_again(scratch: AsyncEngine) -> None:
    await _migrate(scratch, "upgrade", "0009")
    ids = await _rows_to_backfill(scratch)
    await _migrate(scratch, "upgrade", "head")
    expected = {("project", ids["p"]), ("conversation", ids["c"]), ("message", ids["m"])}
    assert await _searched(scratch, ids["user"], "partial") == expected

    await _migrate(scratch, "downgrade", "0009")
    async with scratch.connect() as connection:
        tables = await connection.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert not {name for name in tables if name.startswith("search_")}
        assert not await connection.run_sync(_search_triggers)
    await _migrate(scratch, "upgrade", "head")
    assert await _searched(scratch, ids["user"], "partial") == expected


async def _task_to_backfill(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    """A task by `owner` in a project `other` is a member of too (no API shares a task's
    project; the index must still keep the task its owner's)."""
    ids = {name: uuid.uuid4() for name in ("owner", "other", "p", "run", "task")}
    when = {"created_at": _day(1), "updated_at": _day(1)}
    users = {
        name: {"id": ids[name], "email": f"{name}@example.com", "plan": "free", **when}
        for name in ("owner", "other")
    }
    members = [
        {"project_id": ids["p"], "user_id": ids[name], "role": "owner", "created_at": _day(1)}
        for name in ("owner", "other")
    ]
    run = {"project_id": ids["p"], "user_id": ids["owner"], "kind": "task", "status": "queued"}
    task = {
        "user_id": ids["owner"],
        "project_id": ids["p"],
        "run_id": ids["run"],
        "prompt": "Teach the skua parser",
        "repo_url": "https://git.example.com/acme/gadwall.git",
        "branch_name": "orbiter/teal-fix",
        "model": "m",
        "progress": 0,
        "pushed": False,
    }
    async with engine.begin() as db:
        for user in users.values():
            await _insert(db, "users", **user)
        await _insert(db, "projects", id=ids["p"], name="Shared", is_personal=False, **when)
        for member in members:
            await _insert(db, "project_members", **member)
        await _insert(db, "runs", id=ids["run"], **run, input={}, state={}, **_run_counts(), **when)
        await _insert(db, "tasks", id=ids["task"], **task, **when)
    return ids


def _run_counts() -> dict[str, Any]:
    return {"attempts": 0, "cancel_requested": False, "tokens_in": 0, "tokens_out": 0}


async def test_tasks_are_backfilled_into_search_for_their_owner_only(scratch: AsyncEngine) -> None:
    await _migrate(scratch, "upgrade", "0027")
    ids = await _task_to_backfill(scratch)
    await _migrate(scratch, "upgrade", "head")
    for word in ("skua", "gadwall", "teal"):  # the prompt, the repository, the branch
        assert await _searched(scratch, ids["owner"], word) == {("task", ids["task"])}, word
        assert await _searched(scratch, ids["other"], word) == set(), word

    await _migrate(scratch, "downgrade", "0027")
    await _migrate(scratch, "upgrade", "head")
    assert await _searched(scratch, ids["owner"], "skua") == {("task", ids["task"])}


async def _embedded_chunk(engine: AsyncEngine, vector: bytes) -> int:
    """A knowledge base's `ready` document with one chunk embedded (and one not)."""
    ids = {name: uuid.uuid4() for name in ("p", "kb", "doc")}
    when = {"created_at": _day(1), "updated_at": _day(1)}
    document = {"name": "a.txt", "file_type": "txt", "content_type": "text/plain", "size": 1}
    document |= {"content_hash": "0" * 64, "status": "ready", "chunks_total": 2}
    document |= {"chunks_done": 2, "attempts": 1}
    chunk = {"document_id": ids["doc"], "knowledge_base_id": ids["kb"], "text": "t"}
    async with engine.begin() as db:
        await _insert(db, "projects", id=ids["p"], name="P", is_personal=False, **when)
        kb = {"name": "K", "chunk_size": 100, "chunk_overlap": 0}
        await _insert(db, "knowledge_bases", id=ids["kb"], project_id=ids["p"], **kb, **when)
        document |= {"id": ids["doc"], "knowledge_base_id": ids["kb"], "project_id": ids["p"]}
        await _insert(db, "documents", **document, **when)
        await _insert(db, "knowledge_chunks", **chunk, position=0)
        await db.execute(
            sa.text(
                "INSERT INTO knowledge_chunks (document_id, knowledge_base_id, text, position, "
                "embedding, embedding_model, embedding_dimensions) "
                "VALUES (:doc, :kb, 't', 1, :vector, 'm', :length)"
            ),
            {"doc": ids["doc"], "kb": ids["kb"], "vector": vector, "length": len(vector) // 4},
        )
        return int(await db.scalar(sa.text("SELECT max(id) FROM knowledge_chunks")))


async def _pgvector_rows(engine: AsyncEngine) -> list[tuple[int, str, int, bytes]]:
    """Each row's vector as float32 bytes, read back from pgvector's text form."""
    async with engine.connect() as db:
        rows = await db.execute(
            sa.text(
                "SELECT chunk_id, model, dimensions, embedding::text FROM knowledge_chunk_vectors"
            )
        )
        return [(r[0], r[1], r[2], _float32(r[3][1:-1].split(","))) for r in rows]


def _float32(values: list[str]) -> bytes:
    return struct.pack(f"<{len(values)}f", *map(float, values))


async def test_pgvector_vectors_are_backfilled_kept_and_dropped_again(
    scratch: AsyncEngine, settings: Settings
) -> None:
    """On PostgreSQL with pgvector: chunks embedded before migration 0033 get their vector, bit
    for bit (a subnormal and a negative zero too); a vector updated in place follows."""
    if settings.is_sqlite:
        pytest.skip("pgvector is PostgreSQL's")
    async with scratch.connect() as db:
        available = await db.scalar(
            sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
        )
    if available is None:
        pytest.skip("this PostgreSQL has no pgvector")
    await _migrate(scratch, "upgrade", "0031")
    values = [0.6, -0.8, 1e-40, -0.0, 0.1234567]
    vector = struct.pack("<5f", *values)
    chunk_id = await _embedded_chunk(scratch, vector)
    await _migrate(scratch, "upgrade", "head")
    assert await _pgvector_rows(scratch) == [(chunk_id, "m", 5, vector)]

    changed = struct.pack("<5f", 0.0, 1.0, 0.0, 0.0, 0.0)
    async with scratch.begin() as db:
        await db.execute(
            sa.text("UPDATE knowledge_chunks SET embedding = :v WHERE id = :id"),
            {"v": changed, "id": chunk_id},
        )
    assert await _pgvector_rows(scratch) == [(chunk_id, "m", 5, changed)]

    await _migrate(scratch, "downgrade", "0031")
    async with scratch.connect() as db:
        assert await db.scalar(sa.text("SELECT to_regclass('knowledge_chunk_vectors')")) is None
    await _migrate(scratch, "upgrade", "head")
    assert len(await _pgvector_rows(scratch)) == 1
