"""/api/v1/waveforms: the caller's VCD, FST and GHW files (HTTP only; logic in service.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.blobs.responses import object_response
from orbiter.core.pagination import Page
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep
from orbiter.waveforms import service
from orbiter.waveforms.schemas import (
    DEFAULT_POINTS,
    MAX_POINTS,
    SignalValues,
    WaveformDetail,
    WaveformRead,
)
from orbiter.waveforms.upload import receive_waveform

router = APIRouter(prefix="/waveforms", tags=["waveforms"])

WAVEFORM_MEDIA_TYPE = "application/octet-stream"
MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A VCD, FST or GHW file",
                        },
                        "project_id": {
                            "type": "string",
                            "format": "uuid",
                            "description": "A project of yours to file it under (optional)",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=WaveformRead,
    responses={
        413: {"description": "Larger than the plan's limit (free 25 MB, pro 200 MB, team 500 MB)"},
        415: {"description": "Not multipart, or not a VCD, FST or GHW file"},
        422: {"description": "A waveform file that does not parse, or no `file` part"},
    },
    openapi_extra=MULTIPART_BODY,
    summary="Upload a waveform",
)
async def upload_waveform(
    request: Request, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> WaveformRead:
    """Parsed at upload: format, timescale, time range and the signal hierarchy are read, then
    the original is stored. Nothing is kept of a file that does not parse."""
    limit = service.plan_limit(resources.settings, principal.plan)
    received = await receive_waveform(request, limit=limit, plan=principal.plan)
    row = await service.create_waveform(
        db,
        resources.blobs,
        user_id=principal.user_id,
        received=received,
        cache_files=resources.settings.waveform_cache_files,
    )
    return service.waveform_read(row)


@router.get("", response_model=Page[WaveformRead], summary="List waveforms")
async def list_waveforms(
    principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep, page: PageParamsDep
) -> Page[WaveformRead]:
    """The caller's waveforms, newest first."""
    data, info = await service.list_waveforms(
        db, user_id=principal.user_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.get("/{waveform_id}", response_model=WaveformDetail, summary="Get a waveform")
async def get_waveform(
    waveform_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> WaveformDetail:
    """Metadata and the signal hierarchy: scopes, each with its scopes and signals."""
    row = await service.load_waveform(db, user_id=principal.user_id, waveform_id=waveform_id)
    return service.waveform_detail(row)


@router.get(
    "/{waveform_id}/signals/{signal_path:path}",
    response_model=SignalValues,
    response_model_by_alias=True,
    summary="Read a signal's values",
)
async def read_waveform_signal(
    waveform_id: uuid.UUID,
    signal_path: str,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    from_: Annotated[
        int | None, Query(alias="from", description="Window start (default: the first change)")
    ] = None,
    to: Annotated[int | None, Query(description="Window end (default: the last change)")] = None,
    max_points: Annotated[
        int, Query(ge=2, le=MAX_POINTS, description="Most changes to return")
    ] = DEFAULT_POINTS,
) -> SignalValues:
    """Value changes of one signal with `from` <= time <= `to` (in the file's timescale),
    and the value in effect at `from`.

    `signal_path` is the signal's `path` from the hierarchy (`top.cpu.pc`); `/` may separate
    the names instead of `.`, and characters outside a URL path segment are percent-encoded.
    More than `max_points` changes are down-sampled (`downsampled: true`): the window is cut
    into `max_points / 2` equal spans, and each span with changes keeps its first and last."""
    row = await service.load_waveform(db, user_id=principal.user_id, waveform_id=waveform_id)
    return await service.signal_values(
        resources.blobs,
        row,
        path=signal_path,
        start=from_,
        end=to,
        max_points=max_points,
        cache_files=resources.settings.waveform_cache_files,
    )


@router.get(
    "/{waveform_id}/download",
    response_class=Response,
    responses={
        200: {"content": {WAVEFORM_MEDIA_TYPE: {}}, "description": "The original file"},
        206: {"content": {WAVEFORM_MEDIA_TYPE: {}}, "description": "The requested byte range"},
        304: {"description": "Not modified (If-None-Match)"},
        416: {"description": "Range not satisfiable (RANGE_NOT_SATISFIABLE)"},
    },
    summary="Download a waveform",
)
async def download_waveform(
    waveform_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> Response:
    """The original file's bytes, as uploaded (ETag and byte ranges as for blobs)."""
    row = await service.load_waveform(db, user_id=principal.user_id, waveform_id=waveform_id)
    response = await object_response(
        request,
        resources.blobs,
        key=service.store_key(row.content_hash),
        hash_=row.content_hash,
        size=row.size,
        media_type=WAVEFORM_MEDIA_TYPE,
    )
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(row.name)}"
    return response


@router.delete("/{waveform_id}", status_code=204, summary="Delete a waveform")
async def delete_waveform(
    waveform_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> Response:
    """Delete it; the stored file goes too unless another waveform has the same bytes."""
    sha256 = await service.delete_waveform(db, user_id=principal.user_id, waveform_id=waveform_id)
    # Background tasks run after the request's transaction has committed.
    background.add_task(service.release_bytes, resources.sessionmaker, resources.blobs, sha256)
    return Response(status_code=204)
