"""Is the database at the newest migration? Asked by start-up, `/health` and `orbiter check`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATE_HINT = "run `orbiter migrate` (or `make migrate`)"


class SchemaNotAtHead(Exception):
    """The database's schema is missing or older (or newer) than this code's migrations."""

    def __init__(self, current: str | None, head: str | None) -> None:
        self.current, self.head = current, head
        state = f"at revision {current}" if current else "not migrated (no schema)"
        super().__init__(f"the database is {state}, the latest migration is {head}: {MIGRATE_HINT}")


class MigrationsNotFound(Exception):
    def __init__(self) -> None:
        super().__init__("cannot find the migrations folder; run from the Orbiter checkout")


def migrations_dir() -> Path:
    """`./migrations`, else the one beside the source tree (an editable install)."""
    for candidate in (
        Path.cwd() / "migrations",
        Path(__file__).resolve().parents[3] / "migrations",
    ):
        if (candidate / "env.py").exists():
            return candidate
    raise MigrationsNotFound


@lru_cache
def _head_in(directory: Path) -> str | None:
    return ScriptDirectory(str(directory)).get_current_head()


def head_revision() -> str | None:
    return _head_in(migrations_dir())


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def check_schema(engine: AsyncEngine) -> str | None:
    """The head revision the database is at; raises SchemaNotAtHead when it is not."""
    head = head_revision()
    current = await current_revision(engine)
    if current != head:
        raise SchemaNotAtHead(current, head)
    return head
