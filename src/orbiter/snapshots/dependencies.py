"""Request dependencies of the snapshot lists (their page size defaults to 50, not 20)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from orbiter.core.pagination import PageParams

SNAPSHOT_PAGE_DEFAULT = 50


async def snapshot_page_params(
    cursor: Annotated[str | None, Query(description="Opaque cursor from `next_cursor`")] = None,
    limit: Annotated[
        int, Query(ge=1, description="Page size (default 50); values above 100 are capped")
    ] = SNAPSHOT_PAGE_DEFAULT,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


SnapshotPage = Annotated[PageParams, Depends(snapshot_page_params)]
