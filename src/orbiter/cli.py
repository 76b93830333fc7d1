"""`orbiter serve | migrate | create-user | worker`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from orbiter.core.settings import get_settings


def _migrations_dir() -> Path:
    for candidate in (
        Path.cwd() / "migrations",
        Path(__file__).resolve().parents[2] / "migrations",
    ):
        if (candidate / "env.py").exists():
            return candidate
    raise SystemExit("cannot find the migrations folder; run from the Orbiter checkout")


def migrate(revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    command.upgrade(config, revision)


def serve(host: str, port: int, workers: int) -> None:
    import uvicorn

    settings = get_settings()
    if workers > 1 and not settings.redis_url:
        # Sessions and rate-limit counters live in each process when embedded.
        raise SystemExit("--workers above 1 needs ORBITER_REDIS_URL (shared sessions and limits)")
    uvicorn.run(
        "orbiter.main:app",
        host=host,
        port=port,
        workers=workers,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        server_header=False,
        # ORBITER_LOG_LEVEL rules uvicorn too: at WARNING no access line is logged per request.
        log_level=settings.log_level.lower(),
    )


async def _create_user(email: str, password: str, name: str | None, plan: str) -> None:
    from orbiter.auth import service
    from orbiter.core.db import create_engine, create_sessionmaker, transaction

    engine = create_engine(get_settings())
    try:
        async with transaction(create_sessionmaker(engine)) as db:
            user = await service.register(db, email=email, password=password, name=name)
            user.plan = plan
        print(f"created {user.email} ({user.id})")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="orbiter")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="run the HTTP server")
    serve_cmd.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve_cmd.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve_cmd.add_argument("--workers", type=int, default=1)
    migrate_cmd = commands.add_parser("migrate", help="upgrade the database schema")
    migrate_cmd.add_argument("revision", nargs="?", default="head")
    user_cmd = commands.add_parser("create-user", help="create an account")
    user_cmd.add_argument("--email", required=True)
    user_cmd.add_argument("--name")
    user_cmd.add_argument("--plan", choices=["free", "pro", "team"], default="free")
    user_cmd.add_argument("--password", help="default: ORBITER_NEW_PASSWORD or a prompt")
    commands.add_parser("worker", help="run background maintenance")
    args = parser.parse_args(argv)

    if args.command == "serve":
        serve(args.host, args.port, args.workers)
    elif args.command == "migrate":
        migrate(args.revision)
    elif args.command == "create-user":
        password = args.password or os.environ.get("ORBITER_NEW_PASSWORD") or getpass.getpass()
        asyncio.run(_create_user(args.email, password, args.name, args.plan))
    elif args.command == "worker":
        from orbiter.worker import run_worker

        asyncio.run(run_worker(get_settings()))
    else:  # pragma: no cover - argparse refuses unknown commands
        sys.exit(2)


if __name__ == "__main__":
    main()
