"""The one keyset paginator: opaque signed cursors, `{data, pagination}` pages, no OFFSET."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from itsdangerous import BadSignature, Signer
from pydantic import BaseModel
from sqlalchemy import Row, Select, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from orbiter.core.errors import BadRequest

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


class PageInfo(BaseModel):
    next_cursor: str | None
    has_more: bool
    total: int


class Page(BaseModel, Generic[T]):
    data: list[T]
    pagination: PageInfo


@dataclass(frozen=True)
class PageParams:
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "limit", max(1, min(self.limit, MAX_LIMIT)))


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, salt="orbiter.cursor")

    def encode(self, values: Sequence[Any]) -> str:
        payload = json.dumps([_dump(v) for v in values], separators=(",", ":")).encode()
        return self._signer.sign(base64.urlsafe_b64encode(payload).rstrip(b"=")).decode()

    def decode(self, cursor: str, width: int) -> list[Any]:
        try:
            raw = self._signer.unsign(cursor.encode())
            values = json.loads(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
            if not isinstance(values, list) or len(values) != width:
                raise ValueError("wrong cursor width")
            return [_load(v) for v in values]
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


async def paginate(
    session: AsyncSession,
    stmt: AnySelect,
    *,
    order: Sequence[InstrumentedAttribute[Any]],
    params: PageParams,
    codec: CursorCodec,
    descending: bool = True,
) -> tuple[list[AnyRow], PageInfo]:
    """Page through `stmt` ordered by `order` (its last column must be unique, e.g. the id)."""
    total = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    keyed = stmt.add_columns(*(col.label(f"_cursor_{i}") for i, col in enumerate(order)))
    if params.cursor:
        decoded = codec.decode(params.cursor, len(order))
        after = tuple_(*(literal(v, type_=col.type) for v, col in zip(decoded, order, strict=True)))
        key = tuple_(*order)
        keyed = keyed.where(key < after if descending else key > after)
    direction = [col.desc() if descending else col.asc() for col in order]
    rows = list((await session.execute(keyed.order_by(*direction).limit(params.limit + 1))).all())
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = codec.encode([getattr(last, f"_cursor_{i}") for i in range(len(order))])
    return rows, PageInfo(next_cursor=next_cursor, has_more=has_more, total=total or 0)


def paginate_items(
    items: Sequence[T],
    *,
    key: Callable[[T], tuple[Any, ...]],
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[T], PageInfo]:
    """The same keyset contract for small lists assembled in memory (newest first)."""
    ordered = sorted(items, key=key, reverse=True)
    if params.cursor and ordered:
        after = tuple(codec.decode(params.cursor, len(key(ordered[0]))))
        ordered = [item for item in ordered if key(item) < after]
    elif params.cursor:
        codec.decode(params.cursor, len(params.cursor))  # still refuse a tampered cursor
    page = ordered[: params.limit]
    has_more = len(ordered) > params.limit
    next_cursor = codec.encode(list(key(page[-1]))) if has_more else None
    return page, PageInfo(next_cursor=next_cursor, has_more=has_more, total=len(items))
