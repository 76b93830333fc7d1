"""Engine, sessions, and the one-transaction-per-request dependency."""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Delete, Engine, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from orbiter.core.errors import NotFound
from orbiter.core.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _private_sqlite_files(make_url(url).database)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    return create_async_engine(
        url,
        # A fixed pool: requests beyond it wait for a connection (pool_timeout) rather than
        # open overflow connections that are closed again at once (reconnects under load).
        pool_size=settings.database_pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_pre_ping=False,
        # asyncpg prepares every statement; a generic plan ignores the bound values (which
        # user, which keyset position) and made a later page 2.4x slower than the first.
        connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
    )


def _private_sqlite_files(database: str | None) -> None:
    """The database file readable by its owner only (0600), created so before SQLite opens it;
    SQLite gives its -wal and -shm files the database file's mode."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.exists():
        # Never open an existing database here: closing any descriptor of a file drops the
        # POSIX locks this process holds on it, under SQLite's feet.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            name.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_before_savepoint(connection: Connection, _: str) -> None:
    """Open the real transaction before a SAVEPOINT that would otherwise start one.

    The driver begins a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT as the
    first write would start it, and its RELEASE would COMMIT the work so far: a later error
    could no longer roll the request back. IMMEDIATE takes the write lock now (waiting for it
    like any write), since a savepoint is there to write; reads inside it cannot go stale.
    """
    if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


T = TypeVar("T")
_SQLITE_TWINS: weakref.WeakKeyDictionary[AsyncEngine, Engine] = weakref.WeakKeyDictionary()


async def run_write(engine: AsyncEngine, work: Callable[[Connection], T]) -> T:
    """`work` (synchronous Core statements) in one transaction, committed when it returns.

    On SQLite it runs whole in a worker thread on a synchronous connection to the same file
    (the same pragmas): through the async driver each statement is three or four thread hops
    (cursor, execute, fetch, close), each waiting for a turn of a busy event loop, and every
    one of them while holding SQLite's only write lock. Elsewhere it runs on the async engine.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    return await asyncio.to_thread(_run_in_transaction, _sqlite_twin(engine), work)


def _run_in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    with engine.begin() as connection:
        return work(connection)


def _sqlite_twin(engine: AsyncEngine) -> Engine:
    twin = _SQLITE_TWINS.get(engine)
    if twin is None:
        twin = create_sync_engine(
            engine.url.set(drivername="sqlite"),
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        event.listen(twin, "connect", _sqlite_pragmas)
        _SQLITE_TWINS[engine] = twin
    return twin


def dispose_sqlite_twin(engine: AsyncEngine) -> None:
    """Close the synchronous connections `run_write` opened for `engine` (if any)."""
    twin = _SQLITE_TWINS.pop(engine, None)
    if twin is not None:
        twin.dispose()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed when the block finishes without error, else rolled back."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@asynccontextmanager
async def read_only(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A plain connection for requests that only read: autocommit, so no BEGIN and COMMIT
    round trips, and no ORM session to set up for rows that are never objects.

    Each statement sees its own snapshot; a read that needs one consistent view of several
    things asks for them in one statement (as the paginator does with the page and its total).
    """
    async with _autocommit(engine).connect() as connection:
        yield connection


@lru_cache(maxsize=8)
def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """`engine` with autocommit connections, sharing its pool: the isolation level is set as
    each connection is checked out, not by a second call (and greenlet switch) per read."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def upsert_insert(db: AsyncSession, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of the session's backend, which offers `on_conflict_do_*` on both."""
    if db.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def delete_one(db: AsyncSession, statement: Delete, *, missing: str) -> None:
    """A DELETE of one row already loaded: when it removes nothing, a racing request deleted the
    row after we read it, and this one answers `NotFound(missing)` like any later one."""
    result = await db.execute(statement)
    if not getattr(result, "rowcount", 0):
        raise NotFound(missing)


RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def lost_a_race(exc: DBAPIError) -> bool:
    """A concurrent transaction won: a unique or check rule, a deadlock or a serialization
    failure. Inside a savepoint the transaction survives it, so the caller can look again."""
    return isinstance(exc, IntegrityError) or (
        getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES
    )
