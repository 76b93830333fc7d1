"""Request and response bodies of /api/v1/blobs. Keys follow API.md (camelCase for gc)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from orbiter.blobs.manifest import is_hash
from orbiter.core.schemas import RequestModel

HASH_PATTERN = r"^[0-9a-f]{64}$"
HASH_MESSAGE = "must be a SHA-256 hash: 64 lowercase hex characters"
MAX_HASHES = 100


def _check_hash(value: str) -> str:
    if not is_hash(value):
        raise ValueError(HASH_MESSAGE)
    return value


ContentHash = Annotated[str, AfterValidator(_check_hash)]


class HashList(RequestModel):
    hashes: list[ContentHash] = Field(
        max_length=MAX_HASHES, description="Up to 100 SHA-256 hashes (64 lowercase hex)"
    )


class ExistsResult(BaseModel):
    missing: list[str] = Field(description="Hashes the caller has not uploaded, in request order")
    existing: list[str] = Field(description="Hashes the caller has uploaded, in request order")
    checked: int = Field(description="Distinct hashes checked")


class UploadResult(BaseModel):
    hash: str
    size: int
    created: bool = Field(description="True when the caller did not hold the object before (201)")


class PresignResult(BaseModel):
    urls: dict[str, str] = Field(
        description="hash → URL; hashes that cannot be served are left out"
    )


class GcRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dry_run: bool = Field(default=True, alias="dryRun", description="Only report (default)")
    max_blobs: int = Field(
        default=10_000, ge=1, le=100_000, alias="maxBlobs", description="Blobs examined per pass"
    )


class GcResult(BaseModel):
    success: bool
    dryRun: bool
    scannedBlobs: int
    orphanedBlobs: int
    orphanedManifests: int
    freedBytes: int
    freedMB: float


class Usage(BaseModel):
    count: int
    bytes: int
    mb: float


class TotalUsage(BaseModel):
    bytes: int
    mb: float


class StatsResult(BaseModel):
    blobs: Usage
    manifests: Usage
    total: TotalUsage
