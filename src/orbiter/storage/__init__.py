"""Blob storage behind one small interface: a local directory or an S3 bucket."""

from __future__ import annotations

from orbiter.core.settings import Settings
from orbiter.storage.base import BlobNotFound, BlobStore, BlobStream, StoredKey, validate_key
from orbiter.storage.local import LocalBlobStore
from orbiter.storage.s3 import S3BlobStore

__all__ = [
    "BlobNotFound",
    "BlobStore",
    "BlobStream",
    "LocalBlobStore",
    "S3BlobStore",
    "StoredKey",
    "create_blob_store",
    "validate_key",
]


def create_blob_store(settings: Settings) -> BlobStore:
    if settings.effective_blob_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("ORBITER_S3_BUCKET must be set when ORBITER_BLOB_STORE is s3")
        return S3BlobStore(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            region=settings.s3_region,
        )
    return LocalBlobStore(settings.data_dir / "blobs")
