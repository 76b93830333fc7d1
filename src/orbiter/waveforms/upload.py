"""The multipart body of POST /waveforms, read with the caller's plan limit (HTTP only).

The route declares no body parameter, so FastAPI reads nothing before authentication; the
limit then applies before the body is read (Content-Length) and while it arrives (a counted
`receive`), and the file part is written to a temporary file and hashed on the way.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import IO

from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message, Receive

from orbiter.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from orbiter.waveforms.service import Received

# Room for the multipart boundaries, part headers and the `project_id` field.
MULTIPART_OVERHEAD = 64 * 1024
COPY_CHUNK = 1 << 20


def too_large(limit: int, plan: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The waveform is larger than the {plan} plan's limit of {limit} bytes",
        details={"max_bytes": limit, "plan": plan},
    )


async def receive_waveform(request: Request, *, limit: int, plan: str) -> Received:
    """The `file` part written to a temporary file; 413 past `limit`, 415 unless multipart."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UnsupportedMediaType(
            "Send the waveform as multipart/form-data with a `file` part",
            details={"content_type": content_type or None},
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise too_large(limit, plan)
    capped = Request(request.scope, _counted(request, limit + MULTIPART_OVERHEAD, plan, limit))
    try:
        async with capped.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise ValidationFailed.for_field("file", "A `file` part is required", "missing")
            project_id = _project_id(form.get("project_id"))
            return await _keep(upload, limit=limit, plan=plan, project_id=project_id)
    except ClientDisconnect as exc:
        raise BadRequest("The upload was interrupted before the body was complete") from exc


def _counted(request: Request, cap: int, plan: str, limit: int) -> Receive:
    """The request's `receive`, refusing the body once more than `cap` bytes arrived."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > cap:
            raise too_large(limit, plan)
        return message

    return receive


def _project_id(value: object) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.for_field("project_id", "Not a valid UUID", "uuid_parsing") from None


async def _keep(
    upload: UploadFile, *, limit: int, plan: str, project_id: uuid.UUID | None
) -> Received:
    if upload.size is not None and upload.size > limit:
        raise too_large(limit, plan)
    directory = Path(tempfile.mkdtemp(prefix="orbiter-waveform-"))
    try:
        path = directory / "upload"
        size, digest = await asyncio.to_thread(_copy_hashed, upload.file, path)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    name = Path(upload.filename or "waveform").name[:255] or "waveform"
    return Received(path, directory, name, size, digest, project_id)


def _copy_hashed(source: IO[bytes], target: Path) -> tuple[int, str]:
    source.seek(0)
    hasher = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(COPY_CHUNK):
            hasher.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, hasher.hexdigest()
