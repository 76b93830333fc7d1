"""Blob store fixtures: a local directory always, and S3 on a moto server (or ORBITER_S3_*)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from orbiter.storage import BlobStore, LocalBlobStore, S3BlobStore
from tests.helpers import free_port

from .helpers import UniqueKeys


@dataclass(frozen=True)
class S3Target:
    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"

    def store(self) -> S3BlobStore:
        return S3BlobStore(
            bucket=self.bucket,
            endpoint_url=self.endpoint_url,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            region=self.region,
        )

    def client(self) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )


def wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not listen on port {port} within {timeout}s")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    moto_server = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, process, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def s3_target(request: pytest.FixtureRequest) -> S3Target:
    endpoint_url = os.environ.get("ORBITER_S3_ENDPOINT_URL")
    if endpoint_url:
        return S3Target(
            endpoint_url=endpoint_url,
            bucket=os.environ["ORBITER_S3_BUCKET"],
            access_key_id=os.environ.get("ORBITER_S3_ACCESS_KEY_ID", ""),
            secret_access_key=os.environ.get("ORBITER_S3_SECRET_ACCESS_KEY", ""),
            region=os.environ.get("ORBITER_S3_REGION", "us-east-1"),
        )
    target = S3Target(
        endpoint_url=request.getfixturevalue("moto_endpoint"),
        bucket="orbiter-test",
        access_key_id="testing",
        secret_access_key="testing",
    )
    target.client().create_bucket(Bucket=target.bucket)
    return target


@pytest.fixture(scope="module")
def s3_client(s3_target: S3Target) -> Any:
    return s3_target.client()


@pytest.fixture(params=["local", "s3"])
async def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    store: BlobStore
    if request.param == "local":
        store = LocalBlobStore(tmp_path / "blobs")
    else:
        store = request.getfixturevalue("s3_target").store()
    yield store
    await store.close()


@pytest.fixture
async def s3_store(s3_target: S3Target) -> AsyncIterator[S3BlobStore]:
    store = s3_target.store()
    yield store
    await store.close()


@pytest.fixture
async def new_key(blob_store: BlobStore) -> AsyncIterator[UniqueKeys]:
    keys = UniqueKeys()
    yield keys
    await keys.delete_all(blob_store)


@pytest.fixture
async def s3_key(s3_store: S3BlobStore) -> AsyncIterator[UniqueKeys]:
    keys = UniqueKeys()
    yield keys
    await keys.delete_all(s3_store)
