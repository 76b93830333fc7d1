"""OAuth 2.0 device authorization grant (RFC 8628) for the CLI."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from limits import RateLimitItem
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.auth.principal import Principal
from orbiter.auth.schemas import TokenResponse
from orbiter.auth.sign_in import google_user, issue_token
from orbiter.core.errors import Forbidden, NotFound, OAuthError, RateLimited, Unauthorized
from orbiter.core.ratelimit import RateLimiter, per_minute, per_seconds
from orbiter.core.schemas import clean_name
from orbiter.core.security import hash_secret, new_secret
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.models import DeviceAuthorization, User
from orbiter.oauth.schemas import DeviceCodeResponse, DeviceRequestRead
from orbiter.runtime.resources import Resources

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


def client_name(client_id: str) -> str:
    """The client's name as the /device page and the sessions list show it: a name like any
    other (trimmed, no control or bidi characters), else `invalid_request`."""
    try:
        return clean_name(client_id)[:200]
    except ValueError as exc:
        raise OAuthError("invalid_request", f"client_id {exc}") from exc


def normalise_user_code(value: str) -> str:
    return re.sub(r"[^A-Z]", "", value.upper())


async def start(
    db: AsyncSession, resources: Resources, *, ip: str, client_id: str, verification_uri: str
) -> DeviceCodeResponse:
    """A new device request, within the per-IP sign-in limit."""
    client_id = client_name(client_id)
    limit = per_minute(resources.settings.rate_limit_auth_per_ip)
    await resources.limiter.enforce(
        limit, "sign-in-ip", ip, message="Too many device code requests"
    )
    new = await _new_device_code(db, resources.settings, client_id=client_id)
    return DeviceCodeResponse(
        device_code=new.device_code,
        user_code=new.user_code,
        verification_uri=verification_uri,
        verification_uri_complete=f"{verification_uri}?user_code={new.user_code}",
        expires_in=new.expires_in,
        interval=new.interval,
    )


async def _new_device_code(
    db: AsyncSession, settings: Settings, *, client_id: str
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


async def exchange(
    db: AsyncSession,
    resources: Resources,
    *,
    grant_type: str | None,
    device_code: str | None,
    client_id: str,
    user_agent: str | None,
) -> OAuthError | TokenResponse:
    """The token for an approved device code, or the RFC error to answer (state kept)."""
    if grant_type != DEVICE_GRANT:
        raise OAuthError("unsupported_grant_type", f"grant_type must be {DEVICE_GRANT}")
    if not device_code:
        raise OAuthError("invalid_request", "device_code is required")
    client_id = client_name(client_id)
    outcome = await poll(db, device_code=device_code)
    if isinstance(outcome, OAuthError):
        return outcome
    return await issue_token(db, resources, outcome, client_name=client_id, user_agent=user_agent)


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


def _refuse_machine_credentials(principal: Principal | None) -> None:
    """A CI key or a CLI token must not mint itself another 30-day token."""
    if principal is not None and principal.method != "session":
        raise Forbidden("Only a signed-in browser approves or denies a device; sign in first")


async def lookup(
    db: AsyncSession, resources: Resources, principal: Principal, *, ip: str, user_code: str
) -> DeviceRequestRead:
    """The pending request showing `user_code`, shown to the user before they decide."""
    _refuse_machine_credentials(principal)
    grant = await _find_pending(
        db, resources, user_id=principal.user_id, ip=ip, user_code=user_code
    )
    return DeviceRequestRead(
        user_code=format_user_code(grant.user_code),
        client_id=grant.client_id,
        expires_at=grant.expires_at,
    )


async def decide(
    db: AsyncSession,
    resources: Resources,
    principal: Principal | None,
    *,
    ip: str,
    user_code: str,
    google_credential: str | None,
    approve: bool,
) -> None:
    """Approve or deny a device request, as a browser session or with a Google credential."""
    _refuse_machine_credentials(principal)
    if principal is not None:
        user_id = principal.user_id
    elif google_credential:
        user_id = (await google_user(db, resources, google_credential)).id
    else:
        raise Unauthorized("Sign in (or send a Google credential) to approve a device")
    grant = await _find_pending(
        db, resources, user_id=user_id, ip=ip, user_code=user_code, lock=True
    )
    grant.status = "approved" if approve else "denied"
    grant.user_id = user_id
    await db.flush()


async def _find_pending(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    ip: str,
    user_code: str,
    lock: bool = False,
) -> DeviceAuthorization:
    """The pending request showing `user_code`. Wrong codes count against the caller and the
    IP: each attempt reserves one guess from both before the code is looked up, and a right
    code gives them back."""
    limiter, settings = resources.limiter, resources.settings
    guesses = per_seconds(settings.rate_limit_user_code_guesses, GUESS_WINDOW_SECONDS)
    identities = (("user", str(user_id)), ("ip", ip))
    await _reserve_guesses(limiter, guesses, identities)
    stmt = select(DeviceAuthorization).where(
        DeviceAuthorization.user_code == normalise_user_code(user_code)
    )
    grant = await db.scalar(stmt.with_for_update() if lock else stmt)
    if grant is None or grant.status != "pending" or grant.expires_at <= utcnow():
        raise NotFound("Unknown or expired code", details={"field": "user_code"})
    for identity in identities:
        await limiter.refund(guesses, "user-code", *identity)
    return grant


async def _reserve_guesses(
    limiter: RateLimiter, guesses: RateLimitItem, identities: tuple[tuple[str, str], ...]
) -> None:
    taken: list[tuple[str, str]] = []
    try:
        for identity in identities:
            await limiter.reserve(
                guesses,
                "user-code",
                *identity,
                message="Too many wrong codes; wait before trying again",
            )
            taken.append(identity)
    except RateLimited:
        for identity in taken:  # refused by the other identity: this one is not used either
            await limiter.refund(guesses, "user-code", *identity)
        raise
