"""Open streams end when their caller loses access, within a few seconds.

A WebSocket (`stream.py`) or an SSE follower (the router) runs `StreamGuard.wait_until_lost`
beside its event loop, never on the per-event path: every `ACCESS_CHECK_SECONDS` it resolves
the caller's credential again the way a new request would (`auth.resolve`: a revoked API key or
bearer token, an ended browser session) and loads the conversation through the caller's
membership again (`load_conversation`: removed from the project, project or conversation
deleted). The WebSocket then closes with 1008; the SSE stream ends with an `error` event.

An outage of the database or Redis during a check is not a loss of access: the stream goes on
and the next check decides.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers

from orbiter.auth.principal import AuthFailure, Principal
from orbiter.auth.resolve import resolve_principal
from orbiter.conversations.events import StreamEvent
from orbiter.conversations.service import load_conversation
from orbiter.core.db import transaction
from orbiter.core.errors import AppError, NotFound, ServiceUnavailable
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.conversations")

ACCESS_CHECK_SECONDS = 2.0
Credential = Callable[[], Awaitable[Principal | AuthFailure | None]]
_TRANSIENT = (ServiceUnavailable, SQLAlchemyError, RedisError, OSError)


@dataclass(frozen=True)
class AccessLost:
    code: str
    message: str

    def event(self, message_id: uuid.UUID | None) -> StreamEvent:
        """The SSE `error` event that ends the stream (same shape as a reply's `error`)."""
        return StreamEvent(
            "error",
            {
                "message_id": str(message_id) if message_id else None,
                "error": {"code": self.code, "message": self.message},
                "message": None,
            },
        )


CREDENTIAL_LOST = AccessLost(
    "UNAUTHORIZED", "Access lost: the credential was revoked or expired, or the session ended"
)
CONVERSATION_LOST = AccessLost(
    "RESOURCE_NOT_FOUND",
    "Access lost: the conversation or its project was deleted, or you are no longer a member",
)


@dataclass
class StreamGuard:
    resources: Resources
    principal: Principal
    conversation_id: uuid.UUID
    credential: Credential  # resolves the stream's credential again

    async def wait_until_lost(self) -> AccessLost:
        while True:
            await asyncio.sleep(ACCESS_CHECK_SECONDS)
            if (lost := await self.check()) is not None:
                return lost

    async def check(self) -> AccessLost | None:
        try:
            if not await self._credential_holds():
                return CREDENTIAL_LOST
            async with transaction(self.resources.sessionmaker) as db:
                await load_conversation(
                    db, user_id=self.principal.user_id, conversation_id=self.conversation_id
                )
        except NotFound:
            return CONVERSATION_LOST
        except _TRANSIENT as exc:
            logger.warning("could not re-check access to a stream: %s", exc)
        return None

    async def _credential_holds(self) -> bool:
        try:
            outcome = await self.credential()
        except _TRANSIENT:
            raise
        except AppError:  # refused the way the stream's first request would be now
            return False
        return (
            isinstance(outcome, Principal)
            and outcome.user_id == self.principal.user_id
            and outcome.credential_id == self.principal.credential_id
        )


@asynccontextmanager
async def watching(guard: StreamGuard) -> AsyncIterator[asyncio.Task[AccessLost]]:
    """Run the guard beside a stream; the task is done once access is lost."""
    task = asyncio.create_task(guard.wait_until_lost())
    try:
        yield task
    finally:
        task.cancel()


def request_guard(
    resources: Resources,
    principal: Principal,
    conversation_id: uuid.UUID,
    *,
    headers: Headers,
    cookies: dict[str, str],
) -> StreamGuard:
    """The guard of an HTTP (SSE) stream: the request's own credential, resolved again."""

    async def credential() -> Principal | AuthFailure | None:
        return await resolve_principal(headers, cookies, resources)

    return StreamGuard(resources, principal, conversation_id, credential)
