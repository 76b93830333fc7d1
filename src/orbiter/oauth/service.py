"""OAuth 2.0 device authorization grant (RFC 8628) for the CLI."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import NotFound, OAuthError
from orbiter.core.ratelimit import RateLimiter, per_seconds
from orbiter.core.security import hash_secret, new_secret
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.models import DeviceAuthorization, User

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # 20 consonants: no vowels, no look-alikes
USER_CODE_LENGTH = 8
SLOW_DOWN_STEP = 5
KEEP_EXPIRED = timedelta(days=1)
GUESS_WINDOW_SECONDS = 900


@dataclass(frozen=True)
class NewDeviceCode:
    device_code: str
    user_code: str
    expires_in: int
    interval: int


def format_user_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalise_user_code(value: str) -> str:
    return re.sub(r"[^A-Z]", "", value.upper())


async def start(
    db: AsyncSession, settings: Settings, *, client_id: str, scope: str | None
) -> NewDeviceCode:
    now = utcnow()
    await db.execute(
        delete(DeviceAuthorization).where(DeviceAuthorization.expires_at < now - KEEP_EXPIRED)
    )
    device_code = new_secret(32)  # 256 bits
    for _ in range(5):
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
        try:
            async with db.begin_nested():
                db.add(
                    DeviceAuthorization(
                        device_code_hash=hash_secret(device_code),
                        user_code=user_code,
                        client_id=client_id[:200],
                        scope=scope,
                        interval=settings.device_poll_interval,
                        expires_at=now + timedelta(seconds=settings.device_code_seconds),
                    )
                )
            break
        except IntegrityError:  # a user code still in use: draw another
            continue
    else:
        raise RuntimeError("could not allocate a unique user code")
    return NewDeviceCode(
        device_code,
        format_user_code(user_code),
        settings.device_code_seconds,
        settings.device_poll_interval,
    )


async def poll(db: AsyncSession, *, device_code: str) -> OAuthError | User:
    """The user to issue a token for, or the RFC error to answer (state changes kept)."""
    stmt = select(DeviceAuthorization).where(
        DeviceAuthorization.device_code_hash == hash_secret(device_code)
    )
    grant = await db.scalar(stmt.with_for_update())
    if grant is None or grant.status == "consumed":
        return OAuthError("invalid_grant", "Unknown or already used device code")
    now = utcnow()
    if grant.expires_at <= now:
        return OAuthError("expired_token", "The device code expired; start again")
    too_soon = grant.last_polled_at and now - grant.last_polled_at < timedelta(
        seconds=grant.interval
    )
    grant.last_polled_at = now
    if too_soon:
        grant.interval += SLOW_DOWN_STEP
        return OAuthError("slow_down", f"Polling too fast; wait {grant.interval} seconds")
    if grant.status == "denied":
        return OAuthError("access_denied", "The user denied this request")
    if grant.status == "pending" or grant.user_id is None:
        return OAuthError("authorization_pending", "Waiting for the user to approve")
    consumed = await db.execute(
        update(DeviceAuthorization)
        .where(DeviceAuthorization.id == grant.id, DeviceAuthorization.status == "approved")
        .values(status="consumed", last_polled_at=now)
    )
    user = await db.get(User, grant.user_id)
    if not consumed.rowcount or user is None:  # type: ignore[attr-defined]
        return OAuthError("invalid_grant", "Unknown or already used device code")
    return user


async def find_pending(
    db: AsyncSession,
    limiter: RateLimiter,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    ip: str,
    user_code: str,
    lock: bool = False,
) -> DeviceAuthorization:
    """The pending request showing `user_code` (which client asked, for what scope), looked up
    for `user_id`; wrong codes count against the caller and the IP."""
    guesses = per_seconds(settings.rate_limit_user_code_guesses, GUESS_WINDOW_SECONDS)
    identities = (("user", str(user_id)), ("ip", ip))
    if limiter.enabled:
        for kind, value in identities:
            (await limiter.peek(guesses, "user-code", kind, value)).raise_if_denied(
                "Too many wrong codes; wait before trying again"
            )
    stmt = select(DeviceAuthorization).where(
        DeviceAuthorization.user_code == normalise_user_code(user_code)
    )
    grant = await db.scalar(stmt.with_for_update() if lock else stmt)
    if grant is None or grant.status != "pending" or grant.expires_at <= utcnow():
        if limiter.enabled:
            for kind, value in identities:
                await limiter.hit(guesses, "user-code", kind, value)
        raise NotFound("Unknown or expired code", details={"field": "user_code"})
    return grant


async def decide(
    db: AsyncSession,
    limiter: RateLimiter,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    ip: str,
    user_code: str,
    approve: bool,
) -> None:
    """Approve or deny a pending request; wrong codes count against the caller and the IP."""
    grant = await find_pending(
        db, limiter, settings, user_id=user_id, ip=ip, user_code=user_code, lock=True
    )
    grant.status = "approved" if approve else "denied"
    grant.user_id = user_id
    await db.flush()
