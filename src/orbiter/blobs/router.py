"""/api/v1/blobs: content-addressed blobs and manifests (HTTP only; logic in service.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.auth.principal import Principal
from orbiter.blobs import gc, presign, reclaim, service
from orbiter.blobs.access import object_key
from orbiter.blobs.responses import object_response
from orbiter.blobs.schemas import (
    HASH_PATTERN,
    ExistsResult,
    GcRequest,
    GcResult,
    HashList,
    PresignResult,
    StatsResult,
    TotalUsage,
    UploadResult,
    Usage,
)
from orbiter.core.errors import BadRequest, PayloadTooLarge
from orbiter.runtime.deps import DbSession, ResourcesDep
from orbiter.runtime.resources import Resources

router = APIRouter(prefix="/blobs", tags=["blobs"])

BLOB_MEDIA_TYPE = "application/octet-stream"
MANIFEST_MEDIA_TYPE = "application/json"

HashPath = Annotated[
    str,
    Path(pattern=HASH_PATTERN, description="SHA-256 of the content: 64 lowercase hex characters"),
]


def _raw_body(media_type: str, description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def _object_responses(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"content": {media_type: {}}, "description": "The bytes"},
        206: {"content": {media_type: {}}, "description": "The requested byte range"},
        304: {"description": "Not modified (If-None-Match)"},
        416: {"description": "Range not satisfiable (RANGE_NOT_SATISFIABLE)"},
    }


def _refuse_declared_size(request: Request, limit: int) -> None:
    """413 from Content-Length alone, before any byte of the body is read."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise BadRequest("Content-Length must be a number of bytes")
    if int(declared) > limit:
        raise PayloadTooLarge(
            f"The body is larger than the limit of {limit} bytes", details={"max_bytes": limit}
        )


def _upload_result(response: Response, stored: service.Stored) -> UploadResult:
    response.status_code = 201 if stored.created else 200
    return UploadResult(hash=stored.hash, size=stored.size, created=stored.created)


async def _serve_owned(
    request: Request,
    db: AsyncSession,
    resources: Resources,
    principal: Principal,
    *,
    kind: service.Kind,
    hash_: str,
    media_type: str,
) -> Response:
    """The caller's object, streamed with its cache headers; 404 unless they uploaded it."""
    found = await service.owned_object(db, user_id=principal.user_id, kind=kind, hash_=hash_)
    return await object_response(
        request,
        resources.blobs,
        key=object_key(kind, hash_),
        hash_=hash_,
        size=found.size,
        media_type=media_type,
    )


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect as exc:
        raise BadRequest("The upload was interrupted before the body was complete") from exc


@router.post("/exists", response_model=ExistsResult, summary="Check which blobs are stored")
async def blobs_exist(
    body: HashList, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> ExistsResult:
    """Which hashes the caller has already uploaded. Other users' blobs count as missing.

    Blobs uploaded through presigned S3 URLs are verified and adopted here.
    """
    answer = await service.blobs_exist(
        db,
        resources.blobs,
        resources.kv,
        user_id=principal.user_id,
        hashes=body.hashes,
        max_bytes=resources.settings.max_blob_bytes,
    )
    return ExistsResult(
        missing=answer.missing,
        existing=answer.existing,
        checked=len(answer.missing) + len(answer.existing),
    )


@router.put(
    "/upload/{hash}",
    status_code=201,
    response_model=UploadResult,
    responses={
        200: {"model": UploadResult, "description": "The caller held it already: created is false"},
        413: {"description": "Body over ORBITER_MAX_BLOB_BYTES"},
    },
    openapi_extra=_raw_body(BLOB_MEDIA_TYPE, "The blob's bytes"),
    summary="Upload a blob",
)
async def upload_blob(
    hash: HashPath,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> UploadResult:
    """Streamed and hashed as it arrives; stored only when the SHA-256 matches (else 400).

    201 when the caller did not hold this blob before, 200 (`created: false`) when they did.
    Whether anybody else stored the same bytes changes nothing in the answer.
    """
    limit = resources.settings.max_blob_bytes
    _refuse_declared_size(request, limit)
    stored = await service.upload_blob(
        db,
        resources.blobs,
        user_id=principal.user_id,
        hash_=hash,
        chunks=_body(request),
        max_bytes=limit,
    )
    return _upload_result(response, stored)


@router.get(
    "/download/{hash}",
    response_class=Response,
    responses=_object_responses(BLOB_MEDIA_TYPE),
    summary="Download a blob",
)
@router.head(
    "/download/{hash}",
    name="head_blob",
    response_class=Response,
    responses=_object_responses(BLOB_MEDIA_TYPE),
    summary="Check a blob",
)
async def download_blob(
    hash: HashPath,
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> Response:
    """The bytes (streamed), immutable cache headers, ETag, HEAD and single byte ranges."""
    return await _serve_owned(
        request, db, resources, principal, kind="blob", hash_=hash, media_type=BLOB_MEDIA_TYPE
    )


@router.put(
    "/manifests/{hash}",
    status_code=201,
    response_model=UploadResult,
    responses={
        200: {"model": UploadResult, "description": "The caller held it already: created is false"}
    },
    openapi_extra=_raw_body(MANIFEST_MEDIA_TYPE, "The manifest JSON, exactly the hashed bytes"),
    summary="Upload a manifest",
)
async def upload_manifest(
    hash: HashPath,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> UploadResult:
    """Verified against the hash (400) and the manifest schema (422, `details.entries`).

    201 when the caller did not hold this manifest before, 200 (`created: false`) when they did.
    """
    limit = resources.settings.max_manifest_bytes
    _refuse_declared_size(request, limit)
    stored = await service.upload_manifest(
        db,
        resources.blobs,
        user_id=principal.user_id,
        hash_=hash,
        chunks=_body(request),
        max_bytes=limit,
        max_entry_bytes=resources.settings.max_blob_bytes,
    )
    return _upload_result(response, stored)


@router.get(
    "/manifests/{hash}",
    response_class=Response,
    responses=_object_responses(MANIFEST_MEDIA_TYPE),
    summary="Download a manifest",
)
@router.head(
    "/manifests/{hash}",
    name="head_manifest",
    response_class=Response,
    responses=_object_responses(MANIFEST_MEDIA_TYPE),
    summary="Check a manifest",
)
async def get_manifest(
    hash: HashPath,
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> Response:
    """The manifest's bytes exactly as uploaded."""
    return await _serve_owned(
        request,
        db,
        resources,
        principal,
        kind="manifest",
        hash_=hash,
        media_type=MANIFEST_MEDIA_TYPE,
    )


@router.get("/stats", response_model=StatsResult, summary="Get storage usage")
async def blob_stats(principal: CurrentPrincipal, db: DbSession) -> StatsResult:
    """Count and size of the caller's blobs and manifests."""
    found = await service.usage(db, user_id=principal.user_id)
    blobs, manifests = found["blob"], found["manifest"]
    total = blobs.bytes + manifests.bytes
    return StatsResult(
        blobs=Usage(count=blobs.count, bytes=blobs.bytes, mb=service.megabytes(blobs.bytes)),
        manifests=Usage(
            count=manifests.count, bytes=manifests.bytes, mb=service.megabytes(manifests.bytes)
        ),
        total=TotalUsage(bytes=total, mb=service.megabytes(total)),
    )


def _base_url(request: Request, public_url: str) -> str:
    return (public_url or str(request.base_url)).rstrip("/")


@router.post("/presign-upload", response_model=PresignResult, summary="Get upload URLs")
async def presign_upload(
    body: HashList, request: Request, principal: CurrentPrincipal, resources: ResourcesDep
) -> PresignResult:
    """PUT URLs: on S3 presigned (send `x-amz-checksum-sha256`, the base64 SHA-256, as signed;
    then call `exists` so the server verifies and adopts the upload); on local storage the
    API's own upload route."""
    urls = await presign.upload_urls(
        resources.blobs,
        resources.kv,
        user_id=principal.user_id,
        hashes=body.hashes,
        base_url=_base_url(request, resources.settings.public_url),
    )
    return PresignResult(urls=urls)


@router.post("/presign-download", response_model=PresignResult, summary="Get download URLs")
async def presign_download(
    body: HashList,
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> PresignResult:
    """GET URLs for the caller's blobs (presigned on S3, the API route on local storage);
    hashes the caller has not uploaded are left out."""
    urls = await presign.download_urls(
        db,
        resources.blobs,
        user_id=principal.user_id,
        hashes=body.hashes,
        base_url=_base_url(request, resources.settings.public_url),
    )
    return PresignResult(urls=urls)


@router.post("/gc", response_model=GcResult, summary="Collect unused blobs")
async def collect_garbage(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
    body: GcRequest | None = None,
) -> GcResult:
    """Find (dryRun, the default) or collect the caller's blobs and manifests that nothing
    of theirs references any more and that are older than the grace period.

    Bytes nobody owns any more are deleted once the ownership changes have committed, with
    a sweep of up to `maxBlobs` stored objects for leftovers of interrupted work."""
    body = body or GcRequest()
    grace = resources.settings.gc_grace_seconds
    report = await gc.collect(
        db,
        resources.blobs,
        user_id=principal.user_id,
        dry_run=body.dry_run,
        max_blobs=body.max_blobs,
        grace_seconds=grace,
    )
    if not body.dry_run:
        # Background tasks run after the request's transaction has committed.
        background.add_task(
            reclaim.after_collection,
            resources.sessionmaker,
            resources.blobs,
            resources.kv,
            released=report.released,
            grace_seconds=grace,
            max_keys=body.max_blobs,
        )
    return GcResult(
        success=True,
        dryRun=report.dry_run,
        scannedBlobs=report.scanned_blobs,
        orphanedBlobs=report.orphaned_blobs,
        orphanedManifests=report.orphaned_manifests,
        freedBytes=report.freed_bytes,
        freedMB=service.megabytes(report.freed_bytes),
    )
