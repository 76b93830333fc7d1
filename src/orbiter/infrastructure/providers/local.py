"""The built-in `local` provider: resources on this host, no credential needed.

* `sqlite`: an empty SQLite database file, `<data_dir>/infrastructure/sqlite/<id>.sqlite3`.
* `redis`: a database number of the configured Redis (`ORBITER_REDIS_URL`), one of
  1..`ORBITER_LOCAL_REDIS_DATABASES`-1, never the app's own. A database is claimed by setting a
  marker key holding the resource id (`SET NX`) in an empty database, so two claims never share
  one and a database holding someone's data is skipped; destroying it flushes the database
  only while the marker is still this resource's.

PostgreSQL, MySQL and MongoDB it cannot make: `CannotProvision` says so (a cloud provider's
plug-in can).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from orbiter.core.settings import Settings, mask_password
from orbiter.infrastructure.providers.base import (
    CannotProvision,
    InvalidCredential,
    ProviderFailed,
    Provisioned,
    ProvisionRequest,
    ResourceType,
    StoredResource,
)

MARKER = "orbiter:infrastructure:resource"
SUPPORTED = frozenset({ResourceType.SQLITE, ResourceType.REDIS})


def _create_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    try:  # a new file is empty until the first write; this one writes the header
        db.execute("PRAGMA user_version = 1")
        db.commit()
    finally:
        db.close()


def redis_database_url(url: str, number: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _own_database(url: str) -> int:
    path = urlsplit(url).path.strip("/")
    return int(path) if path.isdigit() else 0


class LocalProvider:
    name = "local"
    needs_token = False

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def supports(self, resource_type: ResourceType) -> bool:
        return resource_type in SUPPORTED

    async def validate(self, token: str, metadata: dict[str, Any]) -> dict[str, Any]:
        raise InvalidCredential("The local provider is built in and needs no credential")

    async def provision(self, request: ProvisionRequest) -> Provisioned:
        if request.resource_type == ResourceType.SQLITE:
            return await self._sqlite(request)
        if request.resource_type == ResourceType.REDIS:
            return await self._redis(request)
        raise CannotProvision(
            f"The local provider cannot provision {request.resource_type}: it makes SQLite "
            "database files and Redis databases only. Use SQLite instead, or add the credential "
            "of a provider that can (POST /api/v1/infrastructure/credentials)",
            provider=self.name,
            resource_type=request.resource_type,
        )

    async def destroy(self, resource: StoredResource) -> None:
        if resource.resource_type == ResourceType.SQLITE:
            path = Path(resource.connection["path"])
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                await asyncio.to_thread(leftover.unlink, missing_ok=True)
        elif resource.resource_type == ResourceType.REDIS:
            await self._release(resource)

    # ------------------------------------------------------------------ SQLite

    def sqlite_path(self, request: ProvisionRequest) -> Path:
        folder = self._settings.data_dir / "infrastructure" / "sqlite"
        return (folder / f"{request.resource_id}.sqlite3").resolve()

    async def _sqlite(self, request: ProvisionRequest) -> Provisioned:
        path = self.sqlite_path(request)
        try:
            await asyncio.to_thread(_create_sqlite, path)
        except (OSError, sqlite3.Error) as exc:
            raise ProviderFailed(f"Could not create the SQLite file: {exc}") from exc
        url = f"sqlite:///{path}"
        return Provisioned(
            connection={"url": url, "path": str(path)},
            env={"DATABASE_URL": url, "SQLITE_PATH": str(path)},
            details={"file": path.name},
        )

    # ------------------------------------------------------------------ Redis

    def _redis_url(self, resource_type: str) -> str:
        url = self._settings.redis_url
        if not url:
            raise CannotProvision(
                "The local provider provisions Redis databases on the configured Redis, and "
                "none is configured (set ORBITER_REDIS_URL)",
                provider=self.name,
                resource_type=resource_type,
            )
        return url

    async def _redis(self, request: ProvisionRequest) -> Provisioned:
        url = self._redis_url(request.resource_type)
        own = _own_database(url)
        for number in range(1, self._settings.local_redis_databases):
            if number == own:
                continue
            try:
                claimed = await self._claim(redis_database_url(url, number), request)
            except ResponseError:  # "DB index is out of range": this Redis has fewer
                break
            except (RedisError, OSError) as exc:
                raise ProviderFailed(f"The configured Redis failed: {exc}") from exc
            if claimed:
                return self._redis_provisioned(url, number)
        raise CannotProvision(
            "Every Redis database the local provider may use is taken "
            f"(1..{self._settings.local_redis_databases - 1}); delete a Redis resource first",
            provider=self.name,
            resource_type=request.resource_type,
        )

    @staticmethod
    async def _claim(url: str, request: ProvisionRequest) -> bool:
        async with Redis.from_url(url) as redis:
            if not await redis.set(MARKER, str(request.resource_id), nx=True):
                return False
            if await redis.dbsize() == 1:
                return True
            await redis.delete(MARKER)  # someone's data is there: not ours to hand out
            return False

    @staticmethod
    def _redis_provisioned(url: str, number: int) -> Provisioned:
        database_url = redis_database_url(url, number)
        return Provisioned(
            connection={"url": database_url},
            env={"REDIS_URL": database_url},
            details={"database": number, "server": mask_password(database_url)},
        )

    async def _release(self, resource: StoredResource) -> None:
        url = resource.connection["url"]
        try:
            async with Redis.from_url(url) as redis:
                marker = await redis.get(MARKER)
                if _text(marker) == str(resource.resource_id):
                    await redis.flushdb()
        except (RedisError, OSError) as exc:
            raise ProviderFailed(f"Could not flush Redis database: {exc}") from exc
