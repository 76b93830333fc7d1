"""Waveforms: parse at upload, keep the original in the blob store, answer signal queries.

A waveform belongs to the user who uploaded it (API.md §1.3); anyone else gets 404. The
original bytes are stored once per content under `waveforms/<aa>/<bb>/<sha256>` and removed
after the last waveform naming them is deleted. A file that does not parse leaves nothing
behind: it is parsed from its temporary copy before anything is stored.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orbiter.core.db import delete_one
from orbiter.core.errors import NotFound, UnsupportedMediaType, ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.settings import Settings
from orbiter.models import WAVEFORM_FORMATS, Role, Waveform
from orbiter.storage import BlobNotFound, BlobStore
from orbiter.storage.streams import ThreadedReader
from orbiter.tenancy.access import load_project
from orbiter.waveforms import parse
from orbiter.waveforms.opened import OPENED
from orbiter.waveforms.schemas import (
    Hierarchy,
    SignalInfo,
    SignalValues,
    ValueChange,
    WaveformDetail,
    WaveformRead,
)

COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Received:
    """An uploaded file, in a temporary directory the caller removes."""

    path: Path
    directory: Path
    name: str
    size: int
    sha256: str
    project_id: uuid.UUID | None


def plan_limit(settings: Settings, plan: str) -> int:
    """The largest waveform upload on `plan` (an unknown plan gets the free one's)."""
    return {
        "pro": settings.waveform_max_bytes_pro,
        "team": settings.waveform_max_bytes_team,
    }.get(plan, settings.waveform_max_bytes_free)


def store_key(sha256: str) -> str:
    return f"waveforms/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def waveform_read(row: Waveform) -> WaveformRead:
    return WaveformRead(
        id=row.id,
        name=row.name,
        format=row.format,
        size=row.size,
        timescale=row.timescale,
        start_time=row.start_time,
        end_time=row.end_time,
        signal_count=row.signal_count,
        project_id=row.project_id,
        sha256=row.content_hash,
        created_at=row.created_at,
    )


def waveform_detail(row: Waveform) -> WaveformDetail:
    return WaveformDetail(
        **waveform_read(row).model_dump(), hierarchy=Hierarchy.model_validate(row.hierarchy)
    )


# ---------------------------------------------------------------- upload


def _parse(received: Received) -> tuple[Any, parse.Summary]:
    """Blocking: the parsed file and its summary (a worker thread runs this)."""
    waveform = parse.open_waveform(received.path)
    return waveform, parse.summarize(waveform)


async def _parsed(received: Received) -> tuple[Any, parse.Summary]:
    """415 for bytes in no waveform format, 422 for a waveform file that does not parse."""
    try:
        waveform, summary = await asyncio.to_thread(_parse, received)
    except parse.NotAWaveform as exc:
        raise UnsupportedMediaType(
            "Not a waveform file: Orbiter reads VCD, FST and GHW",
            details={"reason": str(exc)},
        ) from exc
    except parse.BrokenWaveform as exc:
        raise ValidationFailed.for_field(
            "file", f"The waveform file does not parse: {exc}", "invalid_waveform"
        ) from exc
    if summary.format not in WAVEFORM_FORMATS:
        raise UnsupportedMediaType(f"Unsupported waveform format {summary.format!r}")
    return waveform, summary


async def create_waveform(
    db: AsyncSession,
    store: BlobStore,
    *,
    user_id: uuid.UUID,
    received: Received,
    cache_files: int,
) -> Waveform:
    """Parse, store, record. The parsed file is kept for the queries that follow (with the
    received copy); otherwise, and on any failure, the received copy is removed."""
    kept = False
    try:
        if received.project_id is not None:
            await load_project(
                db, user_id=user_id, project_id=received.project_id, min_role=Role.EDITOR
            )
        waveform, summary = await _parsed(received)
        key = store_key(received.sha256)
        await store.put_stream(key, ThreadedReader(received.path.open("rb"), chunk_size=COPY_CHUNK))
        row = _row(user_id, received, summary)
        db.add(row)
        await db.flush()
        kept = OPENED.adopt(key, received.directory, waveform, capacity=cache_files)
        return row
    finally:
        if not kept:
            await asyncio.to_thread(shutil.rmtree, received.directory, True)


def _row(user_id: uuid.UUID, received: Received, summary: parse.Summary) -> Waveform:
    return Waveform(
        user_id=user_id,
        project_id=received.project_id,
        name=received.name,
        format=summary.format,
        size=received.size,
        content_hash=received.sha256,
        timescale=summary.timescale,
        start_time=summary.start_time,
        end_time=summary.end_time,
        signal_count=summary.signal_count,
        hierarchy=summary.hierarchy,
    )


# ---------------------------------------------------------------- reading


async def load_waveform(
    db: AsyncSession, *, user_id: uuid.UUID, waveform_id: uuid.UUID
) -> Waveform:
    row = await db.get(Waveform, waveform_id)
    if row is None or row.user_id != user_id:
        raise NotFound("Waveform not found")
    return row


async def list_waveforms(
    db: AsyncSession, *, user_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[WaveformRead], PageInfo]:
    stmt = select(Waveform).where(Waveform.user_id == user_id)
    rows, info = await paginate(
        db, stmt, order=[Waveform.created_at, Waveform.id], params=params, codec=codec
    )
    return [waveform_read(r[0]) for r in rows], info


async def signal_values(
    store: BlobStore,
    row: Waveform,
    *,
    path: str,
    start: int | None,
    end: int | None,
    max_points: int,
    cache_files: int,
) -> SignalValues:
    """The changes of one signal in [start, end] (defaults: the file's range), at most
    `max_points` of them (down-sampled past that; `parse.window` says how)."""
    low = start if start is not None else (row.start_time or 0)
    high = end if end is not None else (row.end_time if row.end_time is not None else low)
    if high < low:
        raise ValidationFailed.for_field("to", "`to` must not be before `from`", "value_error")

    def query(waveform: object) -> parse.Window | None:
        variable = parse.find_signal(waveform, path)
        if variable is None:
            return None
        return parse.window(variable, start=low, end=high, max_points=max_points)

    try:
        found = await OPENED.query(
            store, store_key(row.content_hash), capacity=cache_files, work=query
        )
    except BlobNotFound as exc:
        raise NotFound("The waveform's file is no longer stored") from exc
    if found is None:
        raise NotFound(f"No signal {path!r} in this waveform", details={"path": path})
    return SignalValues(
        signal=SignalInfo(**found.signal),
        timescale=row.timescale,
        from_=found.start,
        to=found.end,
        value_at_from=found.value_at_start,
        changes=[ValueChange(time=c.time, value=c.value) for c in found.changes],
        change_count=found.change_count,
        downsampled=found.downsampled,
        max_points=max_points,
    )


# ---------------------------------------------------------------- delete


async def delete_waveform(db: AsyncSession, *, user_id: uuid.UUID, waveform_id: uuid.UUID) -> str:
    """Delete the row; returns the content hash, for `release_bytes` after the commit."""
    row = await load_waveform(db, user_id=user_id, waveform_id=waveform_id)
    await delete_one(
        db,
        delete(Waveform).where(Waveform.id == row.id).execution_options(synchronize_session=False),
        missing="Waveform not found",
    )
    return row.content_hash


async def release_bytes(
    sessions: async_sessionmaker[AsyncSession], store: BlobStore, sha256: str
) -> None:
    """After a delete has committed: remove the stored bytes unless a waveform still names
    them (the same file uploaded again, by anyone). An upload of the same bytes whose row is
    not committed yet when this looks can lose them: its queries and download then answer 404
    ("no longer stored") until the file is uploaded again."""
    async with sessions() as db:
        count = await db.scalar(
            select(func.count()).select_from(Waveform).where(Waveform.content_hash == sha256)
        )
    if not count:
        OPENED.forget(store_key(sha256))
        await store.delete(store_key(sha256))
