"""Bodies and answers of /files. Request bodies refuse unknown keys; NUL in a path is a bad
path (400, like `..`), and file content may hold any character, so they do not use the NUL
rule of `RequestModel`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from orbiter.blobs.manifest import HASH_RE

HASH_PATTERN = HASH_RE.pattern
MAX_PATH_CHARS = 65536  # a sanity bound; the path rules (400) allow 4096 bytes
MAX_OPERATIONS = 1000
Encoding = Literal["utf-8", "base64"]

Path = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PATH_CHARS,
        description="Relative to the workspace's root; normalised (`./a//b/` is `a/b`)",
    ),
]
ContentEncoding = Annotated[
    Encoding,
    Field(description="How `content` is sent: text (UTF-8), or base64 for any bytes"),
]
BASE = Field(
    default=None,
    pattern=HASH_PATTERN,
    description=(
        "The manifest the change was made against (`manifest_hash` of a read or an earlier "
        "write; null: the empty tree). If the workspace has moved on, 409 with the current "
        "one in `details`. Omitted: applied to whatever is current."
    ),
)


class FilesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Based(FilesRequest):
    base_manifest_hash: str | None = BASE


class FileCreate(Based):
    path: Path
    isDirectory: bool = False
    content: str = Field(default="", description="A new file's content (ignored for directories)")
    encoding: ContentEncoding = "utf-8"


class FileDelete(Based):
    path: Path


class ContentUpdate(Based):
    path: Path
    content: str
    encoding: ContentEncoding = "utf-8"


class CreateOp(FilesRequest):
    op: Literal["create"]
    path: Path
    isDirectory: bool = False
    content: str = ""
    encoding: ContentEncoding = "utf-8"


class UpdateOp(FilesRequest):
    op: Literal["update"]
    path: Path
    content: str
    encoding: ContentEncoding = "utf-8"


class DeleteOp(FilesRequest):
    op: Literal["delete"]
    path: Path


class MoveOp(FilesRequest):
    op: Literal["move"]
    path: Path
    to: Path = Field(description="The new path; nothing may exist there yet")


Operation = Annotated[CreateOp | UpdateOp | DeleteOp | MoveOp, Field(discriminator="op")]


class BatchRequest(Based):
    operations: list[Operation] = Field(min_length=1, max_length=MAX_OPERATIONS)


class TreeNode(BaseModel):
    name: str
    path: str
    isDirectory: bool
    children: list[TreeNode] | None = Field(
        default=None, description="A directory's entries (directories first); null for files"
    )
    size: int | None = Field(default=None, description="A file's size in bytes")
    hash: str | None = Field(default=None, description="A file's blob (SHA-256)")
    type: Literal["file", "symlink"] | None = None
    truncated: bool | None = Field(
        default=None, description="True on a directory whose deeper levels are left out"
    )


class FileRead(BaseModel):
    path: str
    name: str
    parent_path: str = Field(description="The directory it is in; empty for the root")
    is_directory: bool
    size_bytes: int
    hash: str | None


class Version(BaseModel):
    """Where the workspace is after the change: send `manifest_hash` as the next write's
    `base_manifest_hash`. Every version is kept as a snapshot (`snapshot_id`)."""

    workspace_id: uuid.UUID
    manifest_hash: str
    version: int
    snapshot_id: uuid.UUID


class FileWritten(Version):
    success: Literal[True] = True
    file: FileRead


class Deleted(Version):
    success: Literal[True] = True


class BatchApplied(Version):
    success: Literal[True] = True
    files: list[FileRead | None] = Field(
        description="Per operation, the file it left in place (null for a delete)"
    )


class FileContent(BaseModel):
    content: str
    path: str
    name: str
    encoding: Encoding = Field(description="utf-8 for text, base64 when the bytes are not UTF-8")
    size_bytes: int
    hash: str
    workspace_id: uuid.UUID
    manifest_hash: str = Field(description="The manifest read: the base for a write")
    version: int
