"""Browser sessions: an opaque signed cookie id, the data server-side in the key-value store.

Keys are derived from a hash of the cookie's id, so the store never holds a usable cookie.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, Signer

from orbiter.core.kv import KeyValueStore
from orbiter.core.security import new_secret
from orbiter.core.time import utcnow
from orbiter.runtime.resources import Resources

COOKIE_NAME = "orbiter_session"
CSRF_HEADER = "X-CSRF-Token"
# A readable copy of the session's CSRF token, for same-origin pages such as /docs to send back
# in CSRF_HEADER. The server compares the header with the session's token, never with this cookie.
CSRF_COOKIE = "orbiter_csrf"
TOUCH_EVERY = timedelta(seconds=60)


@dataclass
class BrowserSession:
    id: str  # public id (a UUID derived from the secret id)
    user_id: str
    csrf_token: str
    created_at: str
    last_seen_at: str
    expires_at: str  # absolute expiry
    user_agent: str | None
    ip: str | None
    # A copy of the user's email and plan, refreshed from the database at each touch, so
    # that a cookie request costs one key-value read rather than a database round trip.
    email: str = ""
    plan: str = "free"


def _public_id(raw_id: str) -> str:
    return str(uuid.UUID(bytes=hashlib.sha256(raw_id.encode()).digest()[:16]))


class SessionStore:
    def __init__(
        self, kv: KeyValueStore, secret_key: str, *, idle_seconds: int, absolute_seconds: int
    ) -> None:
        self._kv = kv
        self._signer = Signer(secret_key, salt="orbiter.session")
        self._idle = idle_seconds
        self._absolute = absolute_seconds

    def cookie_value(self, raw_id: str) -> str:
        return self._signer.sign(raw_id).decode()

    async def create(
        self,
        user_id: uuid.UUID,
        *,
        email: str,
        plan: str,
        user_agent: str | None,
        ip: str | None,
    ) -> tuple[str, BrowserSession]:
        raw_id = new_secret(32)
        now = utcnow()
        session = BrowserSession(
            id=_public_id(raw_id),
            user_id=str(user_id),
            csrf_token=new_secret(32),
            created_at=now.isoformat(),
            last_seen_at=now.isoformat(),
            expires_at=(now + timedelta(seconds=self._absolute)).isoformat(),
            user_agent=(user_agent or "")[:300] or None,
            ip=ip,
            email=email,
            plan=plan,
        )
        await self._save(session)
        await self._kv.add_to_set(_user_key(user_id), session.id, self._absolute)
        return self.cookie_value(raw_id), session

    async def load(self, cookie: str) -> BrowserSession | None:
        """The live session the cookie names, or None (bad signature, gone, or too old)."""
        try:
            raw_id = self._signer.unsign(cookie).decode()
        except BadSignature:
            return None
        session = await self.get(_public_id(raw_id))
        if session is None:
            return None
        if datetime.fromisoformat(session.expires_at) <= utcnow():
            await self.destroy(session)
            return None
        return session

    def due_for_touch(self, session: BrowserSession) -> bool:
        last_seen = datetime.fromisoformat(session.last_seen_at)
        return not session.email or utcnow() - last_seen >= TOUCH_EVERY

    async def touch(self, session: BrowserSession, *, email: str, plan: str) -> None:
        """Record activity (pushing the idle expiry forward) and refresh the user copy."""
        session.last_seen_at = utcnow().isoformat()
        session.email, session.plan = email, plan
        await self._save(session)

    async def get(self, public_id: str) -> BrowserSession | None:
        data = await self._kv.get(_session_key(public_id))
        return BrowserSession(**json.loads(data)) if data else None

    async def list_for_user(self, user_id: uuid.UUID) -> list[BrowserSession]:
        sessions = []
        for public_id in await self._kv.set_members(_user_key(user_id)):
            session = await self.get(public_id)
            if session is None:
                await self._kv.remove_from_set(_user_key(user_id), public_id)
            else:
                sessions.append(session)
        return sessions

    async def destroy(self, session: BrowserSession) -> bool:
        """End the session; False when it had already ended (a racing sign-out or revoke)."""
        removed = await self._kv.delete(_session_key(session.id))
        await self._kv.remove_from_set(_user_key(uuid.UUID(session.user_id)), session.id)
        return removed > 0

    async def _save(self, session: BrowserSession) -> None:
        remaining = datetime.fromisoformat(session.expires_at) - utcnow()
        ttl = min(self._idle, int(remaining.total_seconds()))
        await self._kv.put(_session_key(session.id), json.dumps(asdict(session)), max(1, ttl))


def session_store(resources: Resources) -> SessionStore:
    settings = resources.settings
    return SessionStore(
        resources.kv,
        resources.secret_key,
        idle_seconds=settings.session_idle_seconds,
        absolute_seconds=settings.session_absolute_seconds,
    )


def _session_key(public_id: str) -> str:
    return f"session:{public_id}"


def _user_key(user_id: uuid.UUID) -> str:
    return f"user-sessions:{user_id}"
