"""Translate botocore failures into the errors the rest of Orbiter understands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from orbiter.core.errors import ServiceUnavailable
from orbiter.storage.base import BlobNotFound

NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})

UNREACHABLE_ERRORS = (
    BotoConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated_errors() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code in NOT_FOUND_CODES:
            raise BlobNotFound() from exc
        if code == "NoSuchBucket":
            raise ServiceUnavailable("Blob bucket does not exist") from exc
        raise
    except UNREACHABLE_ERRORS as exc:
        raise ServiceUnavailable("Blob store is unreachable") from exc
