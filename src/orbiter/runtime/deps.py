"""Request dependencies shared by every router: resources, the DB transaction, pagination.

All are `async def`: FastAPI would run plain `def` dependencies in a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import transaction
from orbiter.core.pagination import DEFAULT_LIMIT, PageParams
from orbiter.queue import send_pending
from orbiter.runtime.resources import Resources


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_db(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    async with transaction(resources.sessionmaker) as session:
        yield session
    # Committed: now the jobs the request queued (`orbiter.queue.after_commit`) may go.
    await send_pending(resources.queue, session)


# scope="function": the commit happens before the response is sent, never after.
DbSession = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def page_params(
    cursor: Annotated[str | None, Query(description="Opaque cursor from `next_cursor`")] = None,
    limit: Annotated[
        int, Query(ge=1, description="Page size; values above 100 are capped")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


async def client_ip(request: Request) -> str:
    return str(getattr(request.state, "client_ip", request.client.host if request.client else "-"))


ClientIp = Annotated[str, Depends(client_ip)]
