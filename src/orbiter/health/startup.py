"""What the app does once at start-up, before serving: refuse a database that is not at the
newest migration, warn about an unreachable Redis or blob store, and log one summary."""

from __future__ import annotations

import os

import structlog

from orbiter.core.settings import DEFAULT_SECRET, Settings, mask_password
from orbiter.health.checks import describe, run_checks
from orbiter.health.schema import MigrationsNotFound, SchemaNotAtHead, check_schema
from orbiter.runtime.resources import Resources

log = structlog.stdlib.get_logger("orbiter.startup")


async def start_up(resources: Resources) -> None:
    """Raises SchemaNotAtHead (saying which command to run) instead of serving errors later."""
    settings = resources.settings
    try:
        await check_schema(resources.engine)
    except SchemaNotAtHead:
        raise
    except MigrationsNotFound as exc:
        log.warning("cannot check the database schema", error=str(exc))
    except Exception as exc:  # unreachable now is not fatal: it may come up; /health says so
        log.warning("database unreachable at start-up", error=describe(exc))
    kv = resources.kv if settings.redis_url else None
    checks = await run_checks(resources.engine, kv, resources.blobs)
    for name in ("redis", "blob_store"):
        if name in checks and not checks[name].ok:
            log.warning(f"{name} unreachable at start-up", error=checks[name].error)
    log.info("orbiter started", **summary(settings, resources.generated_keys))


def summary(settings: Settings, generated_keys: tuple[str, ...]) -> dict[str, str]:
    """Where everything is: the one start-up line an operator reads first."""
    keys = "from ORBITER_SECRET_KEY and ORBITER_ENCRYPTION_KEYS"
    if generated_keys:
        keys = f"generated now: {', '.join(generated_keys)} (kept in the data dir)"
    elif settings.secret_key == DEFAULT_SECRET or not settings.encryption_keys:
        keys = "development keys from the data dir"
    return {
        "environment": settings.environment,
        "database": mask_password(settings.effective_database_url),
        "data_dir": str(settings.data_dir.resolve()),
        "blob_store": _blob_store(settings),
        "redis": mask_password(settings.redis_url)
        if settings.redis_url
        else "in-process (no Redis)",
        "docs": f"{_base_url(settings)}/docs",
        "keys": keys,
    }


def _blob_store(settings: Settings) -> str:
    if settings.effective_blob_store == "local":
        return f"local directory {(settings.data_dir / 'blobs').resolve()}"
    endpoint = settings.s3_endpoint_url or "AWS S3"
    return f"S3 bucket {settings.s3_bucket} at {endpoint}"


def _base_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = os.environ.get("HOST", "127.0.0.1")
    host = "localhost" if host in ("0.0.0.0", "::") else host  # noqa: S104 - naming, not binding
    return f"http://{host}:{os.environ.get('PORT', '8000')}"
