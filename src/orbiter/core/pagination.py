"""The one keyset paginator: opaque signed cursors, `{data, pagination}` pages, no OFFSET.

`total` is counted once, on the first page, in the same statement as the page (one round
trip, one snapshot), and carried in the signed cursor: later pages report the count when
the listing began and cost no `count(*)`.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

from itsdangerous import BadSignature, Signer
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Integer, Row, Select, bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from orbiter.core.errors import BadRequest

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]
OrderColumn = ColumnElement[Any] | InstrumentedAttribute[Any]
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
TOTAL_DESCRIPTION = (
    "The count when the listing began: counted on the first page and carried in the cursor, "
    "so later pages repeat it instead of counting again"
)


class PageInfo(BaseModel):
    next_cursor: str | None
    has_more: bool
    total: int = Field(description=TOTAL_DESCRIPTION)


class Page(BaseModel, Generic[T]):
    data: list[T]
    pagination: PageInfo


@dataclass(frozen=True)
class PageParams:
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", max(1, min(self.limit, MAX_LIMIT)))


@dataclass(frozen=True)
class Cursor:
    after: list[Any]  # the sort key of the last item of the previous page
    total: int  # the count when the listing began


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, salt="orbiter.cursor")

    def encode(self, after: Sequence[Any], total: int) -> str:
        payload = {"after": [_dump(v) for v in after], "total": total}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return self._signer.sign(base64.urlsafe_b64encode(raw).rstrip(b"=")).decode()

    def decode(self, cursor: str, width: int | None = None) -> Cursor:
        """The cursor's content; 400 when it is tampered with or does not fit (`width` keys)."""
        try:
            raw = self._signer.unsign(cursor.encode())
            payload = json.loads(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
            after, total = payload["after"], payload["total"]
            if not isinstance(after, list) or (width is not None and len(after) != width):
                raise ValueError("wrong cursor width")
            if not isinstance(total, int) or total < 0:
                raise ValueError("bad total")
            return Cursor([_load(v) for v in after], total)
        except (BadSignature, ValueError, TypeError, KeyError) as exc:
            raise BadRequest("Invalid pagination cursor", details={"field": "cursor"}) from exc


def _dump(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    return value


def _load(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        return uuid.UUID(value["uuid"])
    return value


class KeysetQuery:
    """A list statement turned into its first-page and next-page statements, built once.

    Build it at import time with `bindparam()`s for the request's values (e.g. the user id)
    and SQLAlchemy compiles and cache-keys each statement once instead of per request.
    `order` ends with a unique column (e.g. the id). `count` may replace the default
    `count(*)` over `stmt` with a cheaper statement that counts the same rows.
    """

    def __init__(
        self,
        stmt: AnySelect,
        order: Sequence[OrderColumn],
        *,
        descending: bool = True,
        count: AnySelect | None = None,
    ) -> None:
        self.stmt = stmt
        self.order = list(order)
        self.descending = descending
        self.count = count

    @cached_property
    def _cursor_positions(self) -> list[int]:
        """Where each order column's value is in a row: its own place when `stmt` selects that
        column, else in a `_cursor_<i>` column added after the row's own elements."""
        elements = [d["expr"] for d in self.stmt.column_descriptions]
        added = len(elements)
        positions = []
        for col in self.order:
            found = next((i for i, e in enumerate(elements) if e is col), None)
            if found is None:
                found, added = added, added + 1
            positions.append(found)
        return positions

    @cached_property
    def _keyed(self) -> AnySelect:
        selected = len(self.stmt.column_descriptions)
        keys = (
            col.label(f"_cursor_{i}")
            for i, (col, at) in enumerate(zip(self.order, self._cursor_positions, strict=True))
            if at >= selected
        )
        return self.stmt.add_columns(*keys)

    def _ordered(self, stmt: AnySelect) -> AnySelect:
        direction = [col.desc() if self.descending else col.asc() for col in self.order]
        return stmt.order_by(*direction).limit(bindparam("_limit", type_=Integer))

    @cached_property
    def first_page(self) -> AnySelect:
        """The page and, on every row, the count of the whole listing."""
        counted = self.count
        if counted is None:
            counted = select(func.count()).select_from(self.stmt.order_by(None).subquery())
        total = counted.scalar_subquery().correlate(None).label("_total")  # never correlated
        return self._ordered(self._keyed.add_columns(total))

    @cached_property
    def next_page(self) -> AnySelect:
        after = tuple_(
            *(bindparam(f"_after_{i}", type_=col.type) for i, col in enumerate(self.order))
        )
        key = tuple_(*self.order)
        return self._ordered(self._keyed.where(key < after if self.descending else key > after))

    async def page(
        self,
        db: AsyncSession | AsyncConnection,
        params: PageParams,
        codec: CursorCodec,
        binds: Mapping[str, Any] | None = None,
    ) -> tuple[list[AnyRow], PageInfo]:
        values = {**(binds or {}), "_limit": params.limit + 1}
        if params.cursor:
            cursor = codec.decode(params.cursor, len(self.order))
            values |= {f"_after_{i}": v for i, v in enumerate(cursor.after)}
            rows = list((await db.execute(self.next_page, values)).all())
            total = cursor.total
        else:
            rows = list((await db.execute(self.first_page, values)).all())
            total = rows[0]._total if rows else 0
        has_more = len(rows) > params.limit
        rows = rows[: params.limit]
        next_cursor = None
        if has_more:
            last = rows[-1]
            next_cursor = codec.encode([last[i] for i in self._cursor_positions], total)
        return rows, PageInfo(next_cursor=next_cursor, has_more=has_more, total=total)


async def paginate(
    session: AsyncSession,
    stmt: AnySelect,
    *,
    order: Sequence[OrderColumn],
    params: PageParams,
    codec: CursorCodec,
    descending: bool = True,
) -> tuple[list[AnyRow], PageInfo]:
    """Page through `stmt` ordered by `order` (its last column must be unique, e.g. the id).

    For a hot list, build a module-level `KeysetQuery` instead: this builds one per call.
    """
    return await KeysetQuery(stmt, order, descending=descending).page(session, params, codec)


def paginate_items(
    items: Sequence[T],
    *,
    key: Callable[[T], tuple[Any, ...]],
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[T], PageInfo]:
    """The same keyset contract for small lists assembled in memory (newest first)."""
    ordered = sorted(items, key=key, reverse=True)
    total = len(items)
    if params.cursor:
        cursor = codec.decode(params.cursor)
        after = tuple(cursor.after)
        if ordered and len(key(ordered[0])) != len(after):
            raise BadRequest("Invalid pagination cursor", details={"field": "cursor"})
        ordered = [item for item in ordered if key(item) < after]
        total = cursor.total
    page = ordered[: params.limit]
    has_more = len(ordered) > params.limit
    next_cursor = codec.encode(list(key(page[-1])), total) if has_more else None
    return page, PageInfo(next_cursor=next_cursor, has_more=has_more, total=total)
