"""Password policy and Argon2id hashing (pwdlib), at or above OWASP ASVS 5 Appendix C."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from orbiter.core.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 128
# OWASP's minimum Argon2id configuration: 19 MiB, 2 iterations, 1 degree of parallelism.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_ITERATIONS = 2
ARGON2_PARALLELISM = 1

_hasher = PasswordHash(
    (
        Argon2Hasher(
            time_cost=ARGON2_ITERATIONS,
            memory_cost=ARGON2_MEMORY_KIB,
            parallelism=ARGON2_PARALLELISM,
        ),
    )
)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_policy(password: str, *, email: str | None = None) -> None:
    if not password.strip():
        raise ValidationFailed.for_field(
            "password", "Password must not be only whitespace", "blank"
        )
    if len(password) < MIN_LENGTH:
        raise ValidationFailed.for_field(
            "password", f"Password must be at least {MIN_LENGTH} characters", "too_short"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed.for_field(
            "password", f"Password must be at most {MAX_LENGTH} characters", "too_long"
        )
    lowered = password.lower()
    if lowered in _common_passwords() or (email and lowered == email.lower()):
        raise ValidationFailed.for_field(
            "password", "This password is too common; choose another", "too_common"
        )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(valid, new_hash): new_hash is set when the stored hash uses outdated parameters.

    With no stored hash the password is checked against a dummy so the time spent does
    not reveal whether the account exists.
    """
    stored = password_hash or await _dummy_hash()
    valid, updated = await asyncio.to_thread(_hasher.verify_and_update, password, stored)
    return (valid and password_hash is not None), updated


_DUMMY: list[str] = []


async def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(await hash_password("not a real password, only for timing"))
    return _DUMMY[0]
