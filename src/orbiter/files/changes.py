"""Requests to /files as changes: normalised paths (400), decoded contents (413, 422), edits.

Everything a request can be refused for on its own is refused here, before any workspace is
loaded or any byte stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from orbiter.core.errors import AppError, PayloadTooLarge, ValidationFailed
from orbiter.files.edits import Edit, MakeDir, Move, PutFile, Remove
from orbiter.files.paths import normalise_path
from orbiter.files.schemas import (
    Based,
    BatchRequest,
    ContentUpdate,
    CreateOp,
    DeleteOp,
    Encoding,
    FileCreate,
    FileDelete,
    MoveOp,
    UpdateOp,
)


@dataclass(frozen=True)
class Base:
    """The manifest a change was made against; `check=False`: apply to whatever is current."""

    hash: str | None = None
    check: bool = False


def base_of(body: Based) -> Base:
    return Base(body.base_manifest_hash, "base_manifest_hash" in body.model_fields_set)


@dataclass
class Change:
    """Edits in order, and the content of the files they write (by blob hash)."""

    max_bytes: int
    edits: list[Edit] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)

    def put(self, path: str, content: str, encoding: Encoding, *, create: bool) -> None:
        self.put_data(path, decode(content, encoding), create=create)

    def put_data(self, path: str, data: bytes, *, create: bool) -> None:
        """Write `data` at `path` (normalised already): a new file, or an existing one; 413
        over the size limit."""
        if len(data) > self.max_bytes:
            raise PayloadTooLarge(
                f"The file is larger than the limit of {self.max_bytes} bytes",
                details={"max_bytes": self.max_bytes, "size": len(data)},
            )
        hash_ = hashlib.sha256(data).hexdigest()
        self.contents[hash_] = data
        self.edits.append(PutFile(path=path, hash=hash_, size=len(data), create=create))
        self.summary.append(f"{'create' if create else 'update'} {path}")

    def add(self, edit: Edit, what: str) -> None:
        self.edits.append(edit)
        self.summary.append(what)

    def message(self) -> str:
        shown = "; ".join(self.summary[:20])
        more = len(self.summary) - 20
        return f"files: {shown}" + (f" (and {more} more)" if more > 0 else "")


def decode(content: str, encoding: Encoding) -> bytes:
    """The bytes a client sent: 422 for base64 that is not."""
    if encoding == "base64":
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed.for_field("content", "content is not valid base64") from exc
    else:
        try:
            data = content.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800") is not text
            raise ValidationFailed.for_field(
                "content", "content is not valid Unicode text; send the bytes as base64"
            ) from exc
    return data


def create_change(body: FileCreate | CreateOp, change: Change) -> None:
    path = normalise_path(body.path)
    if body.isDirectory:
        change.add(MakeDir(path), f"mkdir {path}")
    else:
        change.put(path, body.content, body.encoding, create=True)


def update_change(body: ContentUpdate | UpdateOp, change: Change) -> None:
    change.put(normalise_path(body.path), body.content, body.encoding, create=False)


def delete_change(body: FileDelete | DeleteOp, change: Change) -> None:
    path = normalise_path(body.path)
    change.add(Remove(path), f"delete {path}")


def move_change(body: MoveOp, change: Change) -> None:
    path, to = normalise_path(body.path), normalise_path(body.to)
    change.add(Move(path, to), f"move {path} to {to}")


@contextmanager
def numbered(index: int, count: int) -> Iterator[None]:
    """In a batch, an operation's error says which operation it was (`details.operation`)."""
    try:
        yield
    except AppError as exc:
        if count > 1 and (exc.details is None or isinstance(exc.details, dict)):
            exc.details = {**(exc.details or {}), "operation": index}
        raise


def batch_change(body: BatchRequest, change: Change) -> None:
    for index, operation in enumerate(body.operations):
        with numbered(index, len(body.operations)):
            if isinstance(operation, CreateOp):
                create_change(operation, change)
            elif isinstance(operation, UpdateOp):
                update_change(operation, change)
            elif isinstance(operation, DeleteOp):
                delete_change(operation, change)
            else:
                move_change(operation, change)
