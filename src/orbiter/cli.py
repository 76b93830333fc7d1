"""`orbiter serve | migrate | check | create-user | rotate-keys | worker`.

A failure is one line on stderr (`orbiter: error: ...`) and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import version

from alembic.util import CommandError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from orbiter.core.errors import AppError
from orbiter.core.settings import Settings, get_settings, mask_password
from orbiter.health.checks import describe
from orbiter.health.schema import MigrationsNotFound, SchemaNotAtHead


class CliError(Exception):
    """A failure to report as one line."""


@contextmanager
def _database(settings: Settings) -> Iterator[None]:
    """An unreachable database is one line naming it (password masked)."""
    try:
        yield
    except (DBAPIError, OSError) as exc:
        where = mask_password(settings.effective_database_url)
        raise CliError(f"cannot reach the database at {where}: {describe(exc)}") from exc


async def _revision(settings: Settings) -> str | None:
    from orbiter.core.db import create_engine
    from orbiter.health.schema import current_revision

    engine = create_engine(settings)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


def migrate(revision: str = "head") -> str:
    """Upgrade the schema; says from which revision to which, or that nothing was to do."""
    from alembic import command
    from alembic.config import Config

    from orbiter.health.schema import migrations_dir

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    with _database(settings):
        before = asyncio.run(_revision(settings))
        command.upgrade(config, revision)
        after = asyncio.run(_revision(settings))
    if before == after:
        return f"already at {'head' if revision == 'head' else revision} ({after})"
    return f"migrated the database from {before or 'an empty database'} to {after}"


async def _preflight(settings: Settings) -> None:
    """Refuse a database that is not at the newest migration; an unreachable one may come up."""
    from orbiter.core.db import create_engine
    from orbiter.health.schema import check_schema

    engine = create_engine(settings)
    try:
        await check_schema(engine)
    except (SchemaNotAtHead, MigrationsNotFound):
        raise
    except Exception:  # noqa: S110 - start-up logs the warning and /health reports it
        pass
    finally:
        await engine.dispose()


def serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    from orbiter.core.logging import configure_logging

    settings = get_settings()
    if workers > 1 and not settings.redis_url:
        # Sessions and rate-limit counters live in each process when embedded.
        raise CliError("--workers above 1 needs ORBITER_REDIS_URL (shared sessions and limits)")
    asyncio.run(_preflight(settings))
    configure_logging(settings)
    os.environ["HOST"], os.environ["PORT"] = host, str(port)  # for the start-up summary
    uvicorn.run(
        "orbiter.main:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        server_header=False,
        access_log=False,  # the app logs one structured line per request itself
        log_config=None,  # and formats uvicorn's own lines the same way
        # ORBITER_LOG_LEVEL rules uvicorn too: at WARNING no access line is logged per request.
        log_level=settings.log_level.lower(),
    )


async def _create_user(email: str, password: str, name: str | None, plan: str) -> str:
    from orbiter.auth import service
    from orbiter.core.db import create_engine, create_sessionmaker, transaction

    engine = create_engine(get_settings())
    try:
        async with transaction(create_sessionmaker(engine)) as db:
            user = await service.register(db, email=email, password=password, name=name)
            user.plan = plan
        return f"created {user.email} ({user.id})"
    finally:
        await engine.dispose()


async def _rotate_keys() -> tuple[list[str], bool]:
    from orbiter.core.crypto import SecretBox, development_keys
    from orbiter.core.db import create_engine, create_sessionmaker
    from orbiter.key_rotation import rotate_keys

    settings = get_settings()
    entries = settings.encryption_keys or development_keys(settings.data_dir)[0]
    try:
        box = SecretBox.from_setting(entries)
    except ValueError as exc:
        raise CliError(f"ORBITER_ENCRYPTION_KEYS: {exc}") from exc
    newest = entries[0].partition(":")[0]
    engine = create_engine(settings)
    try:
        counts = await rotate_keys(create_sessionmaker(engine), box)
    finally:
        await engine.dispose()
    lines = [
        f"{label}: {c.rotated} re-encrypted with key {newest}, {c.current} already current"
        + (f", {c.failed} not decryptable with the configured keys" if c.failed else "")
        for label, c in counts.items()
    ]
    return lines, any(c.failed for c in counts.values())


async def _check() -> bool:
    """One line per dependency; False when any failed."""
    from orbiter.core.db import create_engine
    from orbiter.core.kv import RedisKeyValueStore
    from orbiter.health.checks import run_checks
    from orbiter.health.startup import summary
    from orbiter.storage import create_blob_store

    settings = get_settings()
    print(f"settings: ok ({settings.environment}, data dir {settings.data_dir.resolve()})")
    where = summary(settings, ())
    engine = create_engine(settings)
    try:
        blobs = create_blob_store(settings)
    except ValueError as exc:  # S3 chosen without a bucket
        raise CliError(str(exc)) from exc
    kv = RedisKeyValueStore(settings.redis_url) if settings.redis_url else None
    try:
        results = await run_checks(engine, kv, blobs)
    finally:
        for closing in (engine.dispose, blobs.close, *([kv.close] if kv else [])):
            await closing()
    subjects = {"database": "database", "redis": "redis", "blob_store": "blob store"}
    for name, label in subjects.items():
        result = results.get(name)
        if result is None:
            print(f"{label}: not configured, {where[name]}")
        elif result.ok:
            print(f"{label}: ok ({where[name]}, {result.latency_ms:.1f} ms)")
        else:
            print(f"{label}: FAILED ({where[name]}): {result.error}")
    return all(result.ok for result in results.values())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orbiter", description="Run and operate Orbiter.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('orbiter')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_cmd = commands.add_parser("serve", help="run the HTTP server")
    serve_cmd.add_argument(
        "--host",
        default=os.environ.get("HOST", "127.0.0.1"),
        help="address to listen on (default: $HOST or 127.0.0.1)",
    )
    serve_cmd.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8000")),
        help="port to listen on (default: $PORT or 8000)",
    )
    serve_cmd.add_argument(
        "--workers", type=int, default=1, help="worker processes (above 1 needs Redis)"
    )
    migrate_cmd = commands.add_parser("migrate", help="upgrade the database schema")
    migrate_cmd.add_argument(
        "revision", nargs="?", default="head", help="target revision (default: head)"
    )
    commands.add_parser(
        "check", help="check settings, database, Redis and blob store; exit 1 if any fails"
    )
    user_cmd = commands.add_parser("create-user", help="create an account")
    user_cmd.add_argument("--email", required=True, help="the account's email address")
    user_cmd.add_argument("--name", help="display name")
    user_cmd.add_argument(
        "--plan", choices=["free", "pro", "team"], default="free", help="plan (default: free)"
    )
    user_cmd.add_argument("--password", help="default: ORBITER_NEW_PASSWORD or a prompt")
    commands.add_parser(
        "rotate-keys",
        help="re-encrypt every stored secret with the first key of ORBITER_ENCRYPTION_KEYS",
    )
    commands.add_parser("worker", help="run background maintenance")
    return parser


def _run(args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "serve": _run_serve,
        "migrate": lambda a: _say(migrate(a.revision)),
        "check": lambda _: 0 if asyncio.run(_check()) else 1,
        "create-user": _run_create_user,
        "rotate-keys": _run_rotate_keys,
        "worker": _run_worker,
    }
    return handlers[args.command](args)


def _say(line: str) -> int:
    print(line)
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    serve(args.host, args.port, args.workers)
    return 0


def _run_create_user(args: argparse.Namespace) -> int:
    password = args.password or os.environ.get("ORBITER_NEW_PASSWORD") or getpass.getpass()
    with _database(get_settings()):
        return _say(asyncio.run(_create_user(args.email, password, args.name, args.plan)))


def _run_rotate_keys(_: argparse.Namespace) -> int:
    with _database(get_settings()):
        lines, failed = asyncio.run(_rotate_keys())
    print("\n".join(lines))
    return 1 if failed else 0


def _run_worker(_: argparse.Namespace) -> int:
    from orbiter.core.logging import configure_logging
    from orbiter.worker import run_worker

    configure_logging(get_settings())
    with _database(get_settings()):
        asyncio.run(run_worker(get_settings()))
    return 0


def _settings_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        field = ".".join(map(str, error["loc"]))
        parts.append(f"ORBITER_{field.upper()}: {message}" if field else message)
    return "invalid settings: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        status = _run(args)
    except ValidationError as exc:
        _fail(_settings_error(exc))
    except (CliError, SchemaNotAtHead, MigrationsNotFound, CommandError) as exc:
        _fail(str(exc))
    except AppError as exc:
        _fail(exc.message)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(status)


def _fail(message: str) -> None:
    print(f"orbiter: error: {message}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
