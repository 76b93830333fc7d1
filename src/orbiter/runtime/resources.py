"""Everything the app holds for its lifetime, built once at start-up from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orbiter.core.crypto import SecretBox, development_keys
from orbiter.core.db import create_engine, create_sessionmaker, dispose_sqlite_twin
from orbiter.core.kv import KeyValueStore, MemoryKeyValueStore, RedisKeyValueStore
from orbiter.core.pagination import CursorCodec
from orbiter.core.pubsub import PubSub, create_pubsub
from orbiter.core.ratelimit import RateLimiter
from orbiter.core.settings import Settings
from orbiter.queue import JobQueue, create_queue
from orbiter.runtime.google import GoogleVerifier
from orbiter.storage import BlobStore, create_blob_store


@dataclass
class Resources:
    settings: Settings
    secret_key: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    kv: KeyValueStore
    limiter: RateLimiter
    secrets: SecretBox
    cursors: CursorCodec
    blobs: BlobStore
    google: GoogleVerifier
    pubsub: PubSub
    queue: JobQueue
    generated_keys: tuple[str, ...] = ()  # development keys made by this start-up

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        engine = create_engine(settings)
        secret_key, new_secret = settings.resolved_secret_key()
        key_entries, new_keys = (
            (settings.encryption_keys, False)
            if settings.encryption_keys
            else development_keys(settings.data_dir)
        )
        return cls(
            settings=settings,
            secret_key=secret_key,
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            kv=RedisKeyValueStore(
                settings.redis_url, max_connections=settings.redis_max_connections
            )
            if settings.redis_url
            else MemoryKeyValueStore(),
            limiter=RateLimiter(
                settings.redis_url or None,
                enabled=settings.rate_limits_enabled,
                max_connections=settings.redis_max_connections,
            ),
            secrets=SecretBox.from_setting(key_entries),
            cursors=CursorCodec(secret_key),
            blobs=create_blob_store(settings),
            google=GoogleVerifier(settings.google_client_id, settings.google_jwks_url),
            pubsub=create_pubsub(settings.redis_url),
            queue=create_queue(settings),
            generated_keys=tuple(
                name
                for name, new in (("secret key", new_secret), ("encryption key", new_keys))
                if new
            ),
        )

    async def close(self) -> None:
        await self.queue.close()
        await self.pubsub.close()
        await self.kv.close()
        await self.limiter.close()
        await self.blobs.close()
        await self.engine.dispose()
        dispose_sqlite_twin(self.engine)
